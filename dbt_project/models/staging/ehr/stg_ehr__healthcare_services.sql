with

latest as (

    {{ latest_version(source('ehr', 'ehr_healthcare_service'), 'healthcare_service_id',
                      'last_updated_at') }}

),

final as (

    select
        healthcare_service_id,
        identifier_key,
        name as healthcare_service_name,
        provided_by_reference,
        specialty_code,
        location_reference,
        is_active

    from latest

)

select * from final
