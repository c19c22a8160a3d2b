-- One row per referral number seen in scheduling: its appointments, what became of them.
with

events as (

    select * from {{ ref('stg_scheduling__appointment_events') }}
    where referral_number is not null

),

last_event_per_appointment as (

    select
        appointment_id,
        event_type as last_event_type,
        event_at as last_event_at,
        slot_start_at as last_slot_start_at
    from (
        select
            *,
            row_number() over (
                partition by appointment_id
                order by event_at desc, appointment_event_id desc
            ) as event_rank
        from events
    ) as ranked
    where event_rank = 1

),

appointments as (

    select
        events.referral_number,
        events.appointment_id,
        min(events.event_at) as booked_at,
        sum(case when events.event_type = 'rescheduled' then 1 else 0 end)
            as reschedule_count
    from events
    group by events.referral_number, events.appointment_id

),

appointment_outcomes as (

    select
        appointments.*,
        last_event_per_appointment.last_event_at,
        last_event_per_appointment.last_slot_start_at,
        case
            when last_event_per_appointment.last_event_type in ('cancelled', 'deleted')
                then 'cancelled'
            when last_event_per_appointment.last_event_type = 'no_show' then 'no_show'
            else 'booked'
        end as outcome,
        row_number() over (
            partition by appointments.referral_number
            order by appointments.booked_at desc, appointments.appointment_id desc
        ) as recency_rank
    from appointments
    inner join last_event_per_appointment
        on appointments.appointment_id = last_event_per_appointment.appointment_id

),

final as (

    select
        referral_number,
        count(*) as appointment_count,
        min(booked_at) as first_scheduled_at,
        sum(reschedule_count) as reschedule_count,
        sum(case when outcome = 'cancelled' then 1 else 0 end) as cancelled_appointment_count,
        sum(case when outcome = 'no_show' then 1 else 0 end) as no_show_count,
        max(case when recency_rank = 1 then outcome end) as last_appointment_outcome,
        max(case when recency_rank = 1 then last_event_at end) as last_appointment_event_at,
        max(case when recency_rank = 1 then last_slot_start_at end)
            as last_appointment_slot_at
    from appointment_outcomes
    group by referral_number

)

select * from final
