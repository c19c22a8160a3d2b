with

latest as (

    {{ latest_version(source('ehr', 'ehr_practitioner'), 'practitioner_id', 'last_updated_at') }}

),

final as (

    select
        practitioner_id,
        npi,
        identifier_key,
        national_identifier_key,
        -- One clinician per national id (NPI, SDS id): every Practitioner resource that
        -- carries the same one resolves to the smallest id among them.
        min(practitioner_id) over (
            partition by coalesce(national_identifier_key, practitioner_id)
        ) as person_practitioner_id,
        family_name,
        given_name,
        taxonomy_code,
        taxonomy_display,
        is_active

    from latest

)

select * from final
