with

latest as (

    {{ latest_version(source('crm', 'crm_referring_practices'), 'practice_id',
                      'last_modified_at') }}

),

final as (

    select
        practice_id,
        practice_name,
        practice_npi,
        city,
        state,
        postal_code,
        liaison_owner as liaison_name,
        network_status,
        created_date,
        cast(last_modified_at as {{ dbt.type_timestamp() }}) as last_modified_at

    from latest

)

select * from final
