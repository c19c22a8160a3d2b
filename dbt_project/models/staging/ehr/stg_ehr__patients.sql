with

latest as (

    {{ latest_version(source('ehr', 'ehr_patient'), 'patient_key', 'last_updated_at') }}

),

final as (

    select
        patient_key,
        mrn_key,
        patient_identifier_key,
        gender,
        birth_year,
        is_aged_90_or_older,
        postal_code_3,
        state,
        is_active

    from latest

)

select * from final
