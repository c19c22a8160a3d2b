-- One row per ServiceRequest with its workflow status and its parties resolved. The referrer
-- is the practitioner wherever one can be found: named directly, or through the
-- PractitionerRole the EHR named (whose organization is then the referring organization). A
-- requester that is an Organization refers without a practitioner; one that is the Patient
-- is a self-referral. The receiver is the performer (a practitioner, role, organization, or a
-- HealthcareService and the organization providing it), else the workflow Task's owner; the
-- requester falls back to the Task's requester the same way. A patient named by identifier
-- only joins the Patient carrying that identifier.
with

workflow as (

    select * from {{ ref('int_referral_workflow') }}

),

targets as (

    select * from {{ ref('int_fhir_reference_targets') }}
    where is_unambiguous

),

roles as (

    select * from {{ ref('int_practitioner_roles_resolved') }}

),

healthcare_services as (

    select * from {{ ref('stg_ehr__healthcare_services') }}

),

patients as (

    select * from {{ ref('stg_ehr__patients') }}
    where patient_identifier_key is not null

),

parties as (

    select
        *,
        coalesce(requester_reference, task_requester_reference) as resolved_requester_reference,
        coalesce(performer_reference, task_owner_reference) as resolved_performer_reference
    from workflow

),

resolved as (

    select
        parties.*,
        patients.patient_key as identified_patient_key,
        requesters.resource_type as requester_resource_type,
        requesters.resource_id as requester_resource_id,
        requester_roles.practitioner_id as requester_role_practitioner_id,
        requester_roles.organization_id as requester_role_organization_id,
        performers.resource_type as performer_resource_type,
        performers.resource_id as performer_resource_id,
        performer_roles.practitioner_id as performer_role_practitioner_id,
        performer_roles.organization_id as performer_role_organization_id,
        service_providers.resource_id as performer_service_organization_id,
        second_performers.resource_type as second_performer_resource_type,
        second_performers.resource_id as second_performer_resource_id,
        locations.resource_id as location_id
    from parties
    -- A condition on the kept side goes into the join key (null when it does not hold):
    -- DuckDB planned `kept.x = 'A' and kept.k = other.k` as a nested loop, 229 s of the
    -- scale-100 build, where the key alone is a hash join (decision 150).
    left join patients
        on case when parties.patient_key is null then parties.patient_identifier_key end
        = patients.patient_identifier_key
    left join targets as requesters
        on parties.resolved_requester_reference = requesters.reference_key
    left join roles as requester_roles
        on case when requesters.resource_type = 'PractitionerRole' then requesters.resource_id end
        = requester_roles.practitioner_role_id
    left join targets as performers
        on parties.resolved_performer_reference = performers.reference_key
    left join roles as performer_roles
        on case when performers.resource_type = 'PractitionerRole' then performers.resource_id end
        = performer_roles.practitioner_role_id
    left join healthcare_services
        on case when performers.resource_type = 'HealthcareService' then performers.resource_id end
        = healthcare_services.healthcare_service_id
    left join targets as service_providers
        on healthcare_services.provided_by_reference = service_providers.reference_key
        and service_providers.resource_type = 'Organization'
    left join targets as second_performers
        on parties.second_performer_reference = second_performers.reference_key
    left join targets as locations
        on parties.location_reference = locations.reference_key
        and locations.resource_type = 'Location'

),

final as (

    select
        referral_id,
        referral_number,
        referral_number_system,
        service_request_kind,
        service_request_kind_name,
        exclusion_reason,
        is_counted_referral,
        status_code as service_request_status_code,
        workflow_status_code as status_code,
        status_name,
        status_source,
        is_open_status,
        is_closed_without_visit,
        is_performed,
        closed_leakage_reason,
        task_id,
        task_status_code,
        business_status_code,
        intent,
        priority,
        category_code,
        -- authoredOn, else the workflow Task's authoredOn, else the first lastUpdated;
        -- never the load time: with none of them the referral is undated.
        coalesce(authored_at, first_task_authored_at, first_updated_at) as referred_at,
        case
            when authored_at is not null then 'authored_on'
            when first_task_authored_at is not null then 'task_authored_on'
            when first_updated_at is not null then 'first_last_updated'
            else 'undated'
        end as referred_at_source,
        coalesce(patient_key, identified_patient_key, patient_identifier_key) as patient_key,
        case
            when patient_key is not null then 'reference'
            when identified_patient_key is not null then 'identifier_matched'
            when patient_identifier_key is not null then 'identifier_only'
        end as patient_key_source,
        case
            when resolved_requester_reference = 'Patient' then 'Patient'
            when requester_resource_type is not null then requester_resource_type
            when resolved_requester_reference is not null then 'unresolved'
        end as requester_type,
        case requester_resource_type
            when 'Practitioner' then requester_resource_id
            when 'PractitionerRole' then requester_role_practitioner_id
        end as referring_practitioner_id,
        case requester_resource_type
            when 'Organization' then requester_resource_id
            when 'PractitionerRole' then requester_role_organization_id
        end as requester_organization_id,
        case performer_resource_type
            when 'Practitioner' then performer_resource_id
            when 'PractitionerRole' then performer_role_practitioner_id
        end as receiving_practitioner_id,
        case
            when performer_resource_type = 'Organization' then performer_resource_id
            when performer_resource_type = 'PractitionerRole'
                then performer_role_organization_id
            when performer_resource_type = 'HealthcareService'
                then performer_service_organization_id
            when second_performer_resource_type = 'Organization'
                then second_performer_resource_id
        end as receiving_organization_id,
        case when performer_resource_type = 'HealthcareService'
                then performer_resource_id
        end as receiving_healthcare_service_id,
        specialty_code,
        location_id,
        coverage_id,
        referral_source_code,
        last_updated_at,
        version_count
    from resolved

)

select * from final
