-- One row per referral with a booked appointment: its appointments (from SIU or FHIR
-- Appointment, int_appointment_events_unioned) and what became of them. "Scheduled" means a
-- booking happened: an appointment counts only once an event shows it booked (S12, S13 or
-- S14: seed siu_trigger_events.is_booking; booked, arrived, checked in or fulfilled: seed
-- appointment_statuses.is_booking). A cancellation, deletion or no-show for an appointment
-- never seen booked does not schedule the referral.
with

events as (

    select * from {{ ref('int_appointment_events_unioned') }}

),

booked_appointments as (

    select
        referral_id,
        appointment_id,
        min(event_at) as booked_at
    from events
    where is_booking
    group by referral_id, appointment_id

),

booked_events as (

    select events.*
    from events
    inner join booked_appointments
        on events.referral_id = booked_appointments.referral_id
        and events.appointment_id = booked_appointments.appointment_id

),

last_event_per_appointment as (

    select
        referral_id,
        appointment_id,
        event_type as last_event_type,
        event_at as last_event_at,
        slot_start_at as last_slot_start_at
    from (
        select
            *,
            row_number() over (
                partition by referral_id, appointment_id
                order by event_at desc, appointment_event_id desc
            ) as event_rank
        from booked_events
    ) as ranked
    where event_rank = 1

),

appointments as (

    select
        referral_id,
        appointment_id,
        min(event_at) as first_event_at,
        sum(case when event_type = 'rescheduled' then 1 else 0 end) as reschedule_count
    from booked_events
    group by referral_id, appointment_id

),

appointment_outcomes as (

    select
        appointments.*,
        booked_appointments.booked_at,
        last_event_per_appointment.last_event_at,
        last_event_per_appointment.last_slot_start_at,
        case
            when last_event_per_appointment.last_event_type in ('cancelled', 'deleted')
                then 'cancelled'
            when last_event_per_appointment.last_event_type = 'no_show' then 'no_show'
            when last_event_per_appointment.last_event_type = 'fulfilled' then 'attended'
            else 'booked'
        end as outcome,
        row_number() over (
            partition by appointments.referral_id
            order by booked_appointments.booked_at desc, appointments.appointment_id desc
        ) as recency_rank
    from appointments
    inner join booked_appointments
        on appointments.referral_id = booked_appointments.referral_id
        and appointments.appointment_id = booked_appointments.appointment_id
    inner join last_event_per_appointment
        on appointments.referral_id = last_event_per_appointment.referral_id
        and appointments.appointment_id = last_event_per_appointment.appointment_id

),

final as (

    select
        referral_id,
        count(*) as appointment_count,
        min(booked_at) as first_scheduled_at,
        sum(reschedule_count) as reschedule_count,
        sum(case when outcome = 'cancelled' then 1 else 0 end) as cancelled_appointment_count,
        sum(case when outcome = 'no_show' then 1 else 0 end) as no_show_count,
        max(case when recency_rank = 1 then outcome end) as last_appointment_outcome,
        max(case when recency_rank = 1 then last_event_at end) as last_appointment_event_at,
        max(case when recency_rank = 1 then last_slot_start_at end)
            as last_appointment_slot_at,
        -- A fulfilled FHIR Appointment: the patient was seen (seed appointment_statuses).
        min(case when outcome = 'attended' then last_slot_start_at end)
            as first_fulfilled_at
    from appointment_outcomes
    group by referral_id

)

select * from final
