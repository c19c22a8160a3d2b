-- One row per delivered version of each FHIR Appointment: its status then, its slot and the
-- referrals (basedOn) it serves. int_appointment_events_unioned turns versions into events.
with

versions as (

    {{ delivered_versions(source('ehr', 'ehr_appointment'), 'appointment_id') }}

),

final as (

    select
        {{ dbt.concat(["appointment_id", "'|'",
                       "coalesce(cast(last_updated_at as " ~ dbt.type_string() ~ "), '')"]) }}
            as appointment_version_id,
        appointment_id,
        appointment_identifier,
        status as status_code,
        cast(start_at as {{ dbt.type_timestamp() }}) as start_at,
        cast(end_at as {{ dbt.type_timestamp() }}) as end_at,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(last_updated_at as {{ dbt.type_timestamp() }}) as last_updated_at,
        based_on_service_request_id,
        second_based_on_service_request_id,
        patient_key,
        practitioner_reference,
        location_reference,
        service_type_code,
        specialty_code,
        cancelation_reason_code
    from versions

)

select * from final
