-- One row per delivered version of each Task (the referral's workflow state), deduplicated
-- where a version was delivered twice: what int_task_versions_linked ties to referrals.
with

versions as (

    {{ delivered_versions(source('ehr', 'ehr_task'), 'task_id') }}

),

final as (

    select
        {{ dbt.concat(["task_id", "'|'",
                       "coalesce(cast(last_updated_at as " ~ dbt.type_string() ~ "), '')"]) }}
            as task_version_id,
        task_id,
        version_id,
        status as status_code,
        business_status_code,
        intent,
        task_code,
        coalesce(focus_service_request_id, based_on_service_request_id)
            as focus_service_request_id,
        focus_referral_number,
        patient_key,
        patient_identifier_key,
        owner_reference,
        requester_reference,
        cast(authored_at as {{ dbt.type_timestamp() }}) as authored_at,
        cast(last_modified_at as {{ dbt.type_timestamp() }}) as last_modified_at,
        cast(last_updated_at as {{ dbt.type_timestamp() }}) as last_updated_at,
        -- The moment this state began: lastModified, else meta.lastUpdated.
        cast(coalesce(last_modified_at, last_updated_at) as {{ dbt.type_timestamp() }})
            as status_at,
        status_reason_code
    from versions

)

select * from final
