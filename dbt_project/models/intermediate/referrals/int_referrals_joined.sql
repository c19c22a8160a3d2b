-- One row per referral (the referral definition's, int_service_requests_classified) with
-- every milestone: who sent it where, in which network direction, its workflow status
-- (int_referral_parties), when it was scheduled, attended and answered with a consult note,
-- and what it earned (int_referral_milestones), with its location, specialty and payer.
with

referrals as (

    select * from {{ ref('int_referral_parties') }}

),

milestones as (

    select * from {{ ref('int_referral_milestones') }}

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

final as (

    select
        referrals.*,
        locations.location_name,
        coalesce(specialties.specialty_name, 'Unknown') as specialty_name,
        coalesce(coverages.payer_class, 'unknown') as payer_class,
        coalesce(coverages.payer_class_name, 'Unknown') as payer_class_name,
        coalesce(milestones.appointment_count, 0) as appointment_count,
        coalesce(milestones.reschedule_count, 0) as reschedule_count,
        coalesce(milestones.cancelled_appointment_count, 0) as cancelled_appointment_count,
        coalesce(milestones.no_show_count, 0) as no_show_count,
        milestones.last_appointment_outcome,
        milestones.last_appointment_event_at,
        milestones.last_appointment_slot_at,
        milestones.first_scheduled_at,
        milestones.first_visit_at,
        coalesce(milestones.visit_count, 0) as visit_count,
        coalesce(milestones.visit_revenue_amount, 0) as visit_revenue_amount,
        milestones.first_visit_revenue_amount,
        milestones.loop_closed_at

    from referrals
    left join milestones
        on referrals.referral_id = milestones.referral_id
    left join locations
        on referrals.location_id = locations.location_id
    left join specialties
        on referrals.specialty_code = specialties.taxonomy_code
    left join coverages
        on referrals.coverage_id = coverages.coverage_id

)

select * from final
