with

latest as (

    {{ latest_version(source('ehr', 'ehr_location'), 'location_id', 'last_updated_at') }}

),

final as (

    select
        location_id,
        location_code,
        identifier_key,
        name as location_name,
        status as status_code,
        managing_organization_id

    from latest

)

select * from final
