with

latest as (

    {{ latest_version(source('ehr', 'ehr_encounter'), 'encounter_id', 'last_updated_at') }}

),

final as (

    select
        encounter_id,
        status as status_code,
        class_code,
        type_code,
        patient_key,
        based_on_service_request_id as referral_id,
        practitioner_reference,
        location_reference,
        service_provider_reference as organization_reference,
        cast(period_start_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(period_end_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from latest

)

select * from final
