-- One row per referral that has a milestone after it was sent: its appointments, its first
-- visit (a finished Encounter, or a fulfilled FHIR Appointment where a feed reports the visit
-- that way, whichever came first), what its visits earned, and its first consult note.
with

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

referral_ids as (

    select ids.referral_id
    from (
        select referral_id from appointments
        union
        select referral_id from visit_summary
        union
        select referral_id from loop_closures
    ) as ids
    where ids.referral_id is not null

),

final as (

    select
        referral_ids.referral_id,
        appointments.appointment_count,
        appointments.reschedule_count,
        appointments.cancelled_appointment_count,
        appointments.no_show_count,
        appointments.last_appointment_outcome,
        appointments.last_appointment_event_at,
        appointments.last_appointment_slot_at,
        appointments.first_scheduled_at,
        case
            when appointments.first_fulfilled_at is null then visit_summary.first_visit_at
            when visit_summary.first_visit_at is null then appointments.first_fulfilled_at
            when appointments.first_fulfilled_at < visit_summary.first_visit_at
                then appointments.first_fulfilled_at
            else visit_summary.first_visit_at
        end as first_visit_at,
        visit_summary.visit_count,
        visit_summary.visit_revenue_amount,
        visit_summary.first_visit_revenue_amount,
        loop_closures.loop_closed_at
    from referral_ids
    left join appointments
        on referral_ids.referral_id = appointments.referral_id
    left join visit_summary
        on referral_ids.referral_id = visit_summary.referral_id
    left join loop_closures
        on referral_ids.referral_id = loop_closures.referral_id

)

select * from final
