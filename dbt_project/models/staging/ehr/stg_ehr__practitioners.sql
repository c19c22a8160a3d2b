with

latest as (

    {{ latest_version(source('ehr', 'ehr_practitioner'), 'practitioner_id', 'last_updated_at') }}

),

final as (

    select
        practitioner_id,
        npi,
        identifier_key,
        family_name,
        given_name,
        taxonomy_code,
        taxonomy_display,
        is_active

    from latest

)

select * from final
