with

latest as (

    {{ latest_version(source('ehr', 'ehr_service_request'), 'service_request_id',
                      'last_updated_at') }}

),

-- authoredOn is optional in FHIR R4: without it, a referral dates from the first time the
-- EHR says it changed, or else the first time it was delivered (docs/sources.md).
first_seen as (

    select
        service_request_id,
        min(last_updated_at) as first_updated_at,
        min(_loaded_at) as first_loaded_at
    from {{ source('ehr', 'ehr_service_request') }}
    group by service_request_id

),

final as (

    select
        latest.service_request_id as referral_id,
        latest.referral_number,
        latest.status as status_code,
        latest.intent,
        latest.priority,
        latest.category_code,
        cast(coalesce(
            latest.authored_at, first_seen.first_updated_at,
            first_seen.first_loaded_at
        ) as {{ dbt.type_timestamp() }}) as referred_at,
        case
            when latest.authored_at is not null then 'authored_on'
            when first_seen.first_updated_at is not null then 'first_last_updated'
            else 'first_loaded'
        end as referred_at_source,
        latest.patient_key,
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
