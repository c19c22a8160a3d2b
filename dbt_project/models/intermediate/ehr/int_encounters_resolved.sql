-- One row per encounter with the practitioner seen (through a role when the EHR names one),
-- the location and the service provider resolved from whatever reference shape was sent.
with

encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

targets as (

    select * from {{ ref('int_fhir_reference_targets') }}
    where is_unambiguous

),

roles as (

    select * from {{ ref('int_practitioner_roles_resolved') }}

),

final as (

    select
        encounters.encounter_id,
        encounters.status_code,
        encounters.class_code,
        encounters.type_code,
        encounters.patient_key,
        encounters.referral_id,
        case participants.resource_type
            when 'Practitioner' then participants.resource_id
            when 'PractitionerRole' then participant_roles.practitioner_id
        end as practitioner_id,
        coalesce(locations.resource_id, participant_roles.location_id) as location_id,
        coalesce(providers.resource_id, participant_roles.organization_id) as organization_id,
        encounters.started_at,
        encounters.ended_at
    from encounters
    left join targets as participants
        on encounters.practitioner_reference = participants.reference_key
    left join roles as participant_roles
        -- The kept side's condition in the key: a hash join, not a nested loop (decision 150).
        on case
            when participants.resource_type = 'PractitionerRole'
                then participants.resource_id
        end = participant_roles.practitioner_role_id
    left join targets as locations
        on encounters.location_reference = locations.reference_key
        and locations.resource_type = 'Location'
    left join targets as providers
        on encounters.organization_reference = providers.reference_key
        and providers.resource_type = 'Organization'

)

select * from final
