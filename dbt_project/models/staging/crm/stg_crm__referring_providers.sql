with

latest as (

    {{ latest_version(source('crm', 'crm_referring_providers'), 'provider_id',
                      'last_modified_at') }}

),

final as (

    select
        provider_id,
        npi,
        first_name,
        last_name,
        credential,
        taxonomy_code,
        practice_id,
        liaison_owner as liaison_name,
        relationship_status,
        created_date,
        cast(last_modified_at as {{ dbt.type_timestamp() }}) as last_modified_at

    from latest

)

select * from final
