with

latest as (

    {{ latest_version(source('ehr', 'ehr_service_request'), 'service_request_id',
                      'last_updated_at') }}

),

-- authoredOn is optional in FHIR R4: without it, a referral dates from its workflow Task's
-- authoredOn, else the first time the EHR says it changed; with none of them it is undated,
-- never dated at load time (int_service_requests_resolved, docs/sources.md).
first_seen as (

    select
        service_request_id,
        min(last_updated_at) as first_updated_at
    from {{ source('ehr', 'ehr_service_request') }}
    group by service_request_id

),

final as (

    select
        latest.service_request_id as referral_id,
        latest.referral_number,
        latest.referral_number_system,
        latest.status as status_code,
        latest.intent,
        latest.priority,
        coalesce(latest.is_do_not_perform, false) as is_do_not_perform,
        latest.category_code,
        latest.category_tokens,
        latest.code_tokens,
        latest.performer_type_tokens,
        cast(latest.authored_at as {{ dbt.type_timestamp() }}) as authored_at,
        cast(first_seen.first_updated_at as {{ dbt.type_timestamp() }}) as first_updated_at,
        latest.patient_key,
        latest.patient_identifier_key,
        latest.requester_reference,
        latest.performer_reference,
        latest.second_performer_reference,
        latest.performer_type_code as specialty_code,
        latest.location_reference,
        latest.coverage_id,
        latest.referral_source_code,
        cast(latest.last_updated_at as {{ dbt.type_timestamp() }}) as last_updated_at,
        latest.version_count,
        cast(latest._loaded_at as {{ dbt.type_timestamp() }}) as loaded_at

    from latest
    inner join first_seen
        on latest.service_request_id = first_seen.service_request_id

)

select * from final
