with

latest as (

    {{ latest_version(source('ehr', 'ehr_practitioner_role'), 'practitioner_role_id',
                      'last_updated_at') }}

),

final as (

    select
        practitioner_role_id,
        identifier_key,
        practitioner_reference,
        organization_reference,
        location_reference,
        specialty_code,
        is_active

    from latest

)

select * from final
