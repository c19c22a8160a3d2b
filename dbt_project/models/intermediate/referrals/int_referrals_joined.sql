-- One row per referral (the referral definition's, int_service_requests_classified) with
-- every milestone: who sent it where, in which network direction, its workflow status, when
-- it was scheduled, attended and answered with a consult note, and what it earned.
with

referrals as (

    select * from {{ ref('int_service_requests_resolved') }}
    -- The referral definition (int_service_requests_classified): referrals only, never a
    -- draft, an order that is no referral, or one entered in error.
    where is_counted_referral

),

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

organizations as (

    select * from {{ ref('int_organization_networks') }}

),

coverages as (

    select * from {{ ref('stg_ehr__coverages') }}

),

locations as (

    select * from {{ ref('stg_ehr__locations') }}

),

specialties as (

    select * from {{ ref('specialty_taxonomy') }}

),

appointments as (

    select * from {{ ref('int_referral_appointments_summarized') }}

),

visits as (

    select * from {{ ref('int_visits_priced') }}

),

consult_notes as (

    select * from {{ ref('stg_ehr__communications') }}
    where is_consult_note and status_code = 'completed'

),

practitioner_networks as (

    select * from {{ ref('int_practitioner_networks') }}

),

-- The sender's side of the network: a self-referral comes from outside; a practitioner is
-- in the network when any of their roles is; else the requesting organization decides.
sender_networks as (

    select
        referrals.referral_id,
        case
            when referrals.requester_type = 'Patient' then 'out_of_network'
            when practitioner_networks.network_status = 'in_network'
                or requesting_organizations.network_status = 'in_network' then 'in_network'
            when practitioner_networks.network_status = 'out_of_network'
                or requesting_organizations.network_status = 'out_of_network'
                then 'out_of_network'
        end as network_status
    from referrals
    left join practitioner_networks
        on referrals.referring_practitioner_id = practitioner_networks.practitioner_id
    left join organizations as requesting_organizations
        on referrals.requester_organization_id = requesting_organizations.organization_id

),

visit_summary as (

    select
        referral_id,
        min(started_at) as first_visit_at,
        count(*) as visit_count,
        sum(revenue_amount) as visit_revenue_amount,
        sum(case when is_first_visit then revenue_amount else 0 end)
            as first_visit_revenue_amount
    from visits
    group by referral_id

),

loop_closures as (

    select
        referral_id,
        min(sent_at) as loop_closed_at
    from consult_notes
    group by referral_id

),

final as (

    select
        referrals.referral_id,
        referrals.referral_number,
        referrals.status_code,
        referrals.status_name,
        referrals.status_source,
        referrals.service_request_status_code,
        referrals.task_status_code,
        referrals.business_status_code,
        -- Closed without a visit (revoked; a Task rejected, cancelled or failed), performed
        -- (completed), still waiting for care: seeds service_request_statuses, task_statuses.
        coalesce(referrals.is_closed_without_visit, false) as is_closed_without_visit,
        coalesce(referrals.is_open_status, false) as is_open_status,
        coalesce(referrals.is_performed, false) as is_performed_status,
        referrals.closed_leakage_reason,
        referrals.priority,
        referrals.referred_at,
        referrals.referred_at_source,
        cast({{ dbt.date_trunc('month', 'referrals.referred_at') }} as date) as referral_month,
        referrals.patient_key,
        referrals.requester_type,
        referrals.referring_practitioner_id,
        practitioners.npi as referring_provider_npi,
        coalesce(referrals.requester_organization_id, requester_network.organization_id)
            as referring_organization_id,
        coalesce(
            requester_network.is_in_network, requester_organizations.is_in_network, false
        ) as is_referrer_in_network,
        referrals.receiving_practitioner_id,
        referrals.receiving_organization_id,
        referrals.receiving_healthcare_service_id,
        receiving_organizations.organization_name as receiving_organization_name,
        coalesce(receiving_organizations.is_in_network, false) as is_receiver_in_network,
        referrals.location_id,
        locations.location_name,
        referrals.specialty_code,
        coalesce(specialties.specialty_name, 'Unknown') as specialty_name,
        coalesce(coverages.payer_class, 'unknown') as payer_class,
        coalesce(coverages.payer_class_name, 'Unknown') as payer_class_name,
        referrals.referral_source_code,
        -- docs/metrics.md, direction: the sender's side (a Patient is outside) against the
        -- receiver's; a side that cannot be placed makes the direction unknown.
        case
            when sender_network.network_status = 'in_network'
                and receiving_organizations.network_status = 'in_network' then 'internal'
            when sender_network.network_status = 'in_network'
                and receiving_organizations.network_status = 'out_of_network' then 'outbound'
            when sender_network.network_status = 'in_network' then 'unknown'
            when receiving_organizations.network_status = 'in_network' then 'inbound'
            when sender_network.network_status = 'out_of_network'
                and receiving_organizations.network_status is null
                and referrals.receiving_organization_id is null then 'inbound'
            else 'unknown'
        end as direction,
        coalesce(appointments.appointment_count, 0) as appointment_count,
        coalesce(appointments.reschedule_count, 0) as reschedule_count,
        coalesce(appointments.cancelled_appointment_count, 0) as cancelled_appointment_count,
        coalesce(appointments.no_show_count, 0) as no_show_count,
        appointments.last_appointment_outcome,
        appointments.last_appointment_event_at,
        appointments.last_appointment_slot_at,
        appointments.first_scheduled_at,
        -- The first visit: a finished Encounter, or a fulfilled FHIR Appointment where a
        -- feed reports the visit that way, whichever came first.
        case
            when appointments.first_fulfilled_at is null then visit_summary.first_visit_at
            when visit_summary.first_visit_at is null then appointments.first_fulfilled_at
            when appointments.first_fulfilled_at < visit_summary.first_visit_at
                then appointments.first_fulfilled_at
            else visit_summary.first_visit_at
        end as first_visit_at,
        coalesce(visit_summary.visit_count, 0) as visit_count,
        coalesce(visit_summary.visit_revenue_amount, 0) as visit_revenue_amount,
        visit_summary.first_visit_revenue_amount,
        loop_closures.loop_closed_at

    from referrals
    left join practitioners
        on referrals.referring_practitioner_id = practitioners.practitioner_id
    left join practitioner_networks as requester_network
        on referrals.referring_practitioner_id = requester_network.practitioner_id
    left join organizations as requester_organizations
        on referrals.requester_organization_id = requester_organizations.organization_id
    left join sender_networks as sender_network
        on referrals.referral_id = sender_network.referral_id
    left join organizations as receiving_organizations
        on referrals.receiving_organization_id = receiving_organizations.organization_id
    left join locations
        on referrals.location_id = locations.location_id
    left join specialties
        on referrals.specialty_code = specialties.taxonomy_code
    left join coverages
        on referrals.coverage_id = coverages.coverage_id
    left join appointments
        on referrals.referral_id = appointments.referral_id
    left join visit_summary
        on referrals.referral_id = visit_summary.referral_id
    left join loop_closures
        on referrals.referral_id = loop_closures.referral_id

)

select * from final
