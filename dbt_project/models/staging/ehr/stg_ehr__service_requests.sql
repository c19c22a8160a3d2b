with

latest as (

    {{ latest_version(source('ehr', 'ehr_service_request'), 'service_request_id',
                      'last_updated_at') }}

),

final as (

    select
        service_request_id as referral_id,
        referral_number,
        status as status_code,
        intent,
        priority,
        category_code,
        cast(authored_at as {{ dbt.type_timestamp() }}) as referred_at,
        patient_key,
        requester_type,
        requester_id as referring_practitioner_id,
        performer_practitioner_id as receiving_practitioner_id,
        performer_organization_id as receiving_organization_id,
        performer_type_code as specialty_code,
        location_id,
        coverage_id,
        referral_source_code,
        cast(last_updated_at as {{ dbt.type_timestamp() }}) as last_updated_at,
        version_count

    from latest

)

select * from final
