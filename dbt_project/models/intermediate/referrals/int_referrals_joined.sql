-- One row per referral with every milestone: who sent it where, in which network direction,
-- when it was scheduled, attended and answered with a consult note, and what it earned.
with

referrals as (

    select * from {{ ref('int_service_requests_resolved') }}
    -- Entered in error: never a real referral.
    where coalesce(status_code, '') <> 'entered-in-error'

),

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

organizations as (

    select * from {{ ref('stg_ehr__organizations') }}

),

coverages as (

    select * from {{ ref('stg_ehr__coverages') }}

),

locations as (

    select * from {{ ref('stg_ehr__locations') }}

),

statuses as (

    select * from {{ ref('service_request_statuses') }}

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
        coalesce(statuses.status_name, 'Unknown') as status_name,
        -- Closed without a visit (revoked): seed service_request_statuses.
        coalesce(statuses.is_closed_without_visit, false) as is_closed_without_visit,
        -- Still waiting for care (active, on hold, unknown): seed service_request_statuses.
        coalesce(statuses.is_open, false) as is_open_status,
        referrals.priority,
        referrals.referred_at,
        cast({{ dbt.date_trunc('month', 'referrals.referred_at') }} as date) as referral_month,
        referrals.patient_key,
        referrals.referring_practitioner_id,
        practitioners.npi as referring_provider_npi,
        coalesce(referrals.requester_organization_id, requester_network.organization_id)
            as referring_organization_id,
        coalesce(requester_network.is_in_network, requester_organizations.is_in_network, false)
            as is_referrer_in_network,
        referrals.receiving_practitioner_id,
        referrals.receiving_organization_id,
        receiving_organizations.organization_name as receiving_organization_name,
        coalesce(receiving_organizations.is_in_network, false) as is_receiver_in_network,
        referrals.location_id,
        locations.location_name,
        referrals.specialty_code,
        coalesce(specialties.specialty_name, 'Unknown') as specialty_name,
        coalesce(coverages.payer_class, 'unknown') as payer_class,
        coalesce(coverages.payer_class_name, 'Unknown') as payer_class_name,
        coalesce(referrals.referral_source_code, 'unknown') as source_channel,
        case
            when coalesce(
                    requester_network.is_in_network,
                    requester_organizations.is_in_network, false
                )
                and not coalesce(receiving_organizations.is_in_network, false)
                then 'outbound'
            when coalesce(
                    requester_network.is_in_network,
                    requester_organizations.is_in_network, false
                ) then 'internal'
            else 'inbound'
        end as direction,
        coalesce(appointments.appointment_count, 0) as appointment_count,
        coalesce(appointments.reschedule_count, 0) as reschedule_count,
        coalesce(appointments.cancelled_appointment_count, 0) as cancelled_appointment_count,
        coalesce(appointments.no_show_count, 0) as no_show_count,
        appointments.last_appointment_outcome,
        appointments.last_appointment_event_at,
        appointments.last_appointment_slot_at,
        appointments.first_scheduled_at,
        visit_summary.first_visit_at,
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
    left join organizations as receiving_organizations
        on referrals.receiving_organization_id = receiving_organizations.organization_id
    left join locations
        on referrals.location_id = locations.location_id
    left join statuses
        on referrals.status_code = statuses.status_code
    left join specialties
        on referrals.specialty_code = specialties.taxonomy_code
    left join coverages
        on referrals.coverage_id = coverages.coverage_id
    left join appointments
        on referrals.referral_number = appointments.referral_number
    left join visit_summary
        on referrals.referral_id = visit_summary.referral_id
    left join loop_closures
        on referrals.referral_id = loop_closures.referral_id

)

select * from final
