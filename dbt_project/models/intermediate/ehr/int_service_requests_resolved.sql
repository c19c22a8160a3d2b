-- One row per referral with its requester and performers resolved. The referrer is the
-- practitioner wherever one can be found: named directly, or through the PractitionerRole
-- the EHR named (whose organization is then the referring organization). A requester that
-- is an Organization refers without a practitioner; one that is the Patient is a
-- self-referral.
with

referrals as (

    select * from {{ ref('stg_ehr__service_requests') }}

),

targets as (

    select * from {{ ref('int_fhir_reference_targets') }}
    where is_unambiguous

),

roles as (

    select * from {{ ref('int_practitioner_roles_resolved') }}

),

resolved as (

    select
        referrals.*,
        requesters.resource_type as requester_resource_type,
        requesters.resource_id as requester_resource_id,
        requester_roles.practitioner_id as requester_role_practitioner_id,
        requester_roles.organization_id as requester_role_organization_id,
        performers.resource_type as performer_resource_type,
        performers.resource_id as performer_resource_id,
        performer_roles.practitioner_id as performer_role_practitioner_id,
        performer_roles.organization_id as performer_role_organization_id,
        second_performers.resource_type as second_performer_resource_type,
        second_performers.resource_id as second_performer_resource_id,
        locations.resource_id as location_id
    from referrals
    left join targets as requesters
        on referrals.requester_reference = requesters.reference_key
    left join roles as requester_roles
        on requesters.resource_type = 'PractitionerRole'
        and requesters.resource_id = requester_roles.practitioner_role_id
    left join targets as performers
        on referrals.performer_reference = performers.reference_key
    left join roles as performer_roles
        on performers.resource_type = 'PractitionerRole'
        and performers.resource_id = performer_roles.practitioner_role_id
    left join targets as second_performers
        on referrals.second_performer_reference = second_performers.reference_key
    left join targets as locations
        on referrals.location_reference = locations.reference_key
        and locations.resource_type = 'Location'

),

final as (

    select
        referral_id,
        referral_number,
        status_code,
        intent,
        priority,
        category_code,
        referred_at,
        referred_at_source,
        patient_key,
        case
            when requester_reference = 'Patient' then 'Patient'
            else requester_resource_type
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
            when second_performer_resource_type = 'Organization'
                then second_performer_resource_id
        end as receiving_organization_id,
        specialty_code,
        location_id,
        coverage_id,
        referral_source_code,
        last_updated_at,
        version_count
    from resolved

)

select * from final
