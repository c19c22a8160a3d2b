-- One row per referral a coordinator must act on as of the as-of moment, with the first
-- reason that applies (seed worklist_reasons), how many business days it has waited, and
-- who to call. Windows are vars: worklist_schedule_business_days,
-- worklist_consult_note_business_days, worklist_horizon_days (docs/metrics.md, "Worklist").
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where direction <> 'outbound'

),

business_days as (

    select * from {{ ref('int_business_days') }}

),

reasons as (

    select * from {{ ref('worklist_reasons') }}

),

referrers as (

    select * from {{ ref('dim_referring_providers') }}

),

candidates as (

    select
        referrals.*,
        case
            when has_attended and not has_loop_closed then 'consult_note_overdue'
            when has_attended or not is_open_status then null
            when last_appointment_outcome = 'booked' and last_appointment_slot_at < as_of_at
                then 'booked_slot_passed'
            when last_appointment_outcome in ('cancelled', 'no_show') then 'not_rebooked'
            when not has_scheduled then 'not_scheduled'
        end as worklist_reason
    from referrals

),

waiting as (

    select
        candidates.*,
        case worklist_reason
            when 'consult_note_overdue' then first_visit_at
            when 'booked_slot_passed' then last_appointment_slot_at
            when 'not_rebooked' then last_appointment_event_at
            when 'not_scheduled' then referred_at
        end as waiting_since_at
    from candidates
    where worklist_reason is not null

),

measured as (

    select
        waiting.*,
        as_of_day.business_day_number - since_day.business_day_number
            as business_days_waiting
    from waiting
    inner join business_days as since_day
        on cast(waiting.waiting_since_at as date) = since_day.date_day
    inner join business_days as as_of_day
        on cast(waiting.as_of_at as date) = as_of_day.date_day

),

final as (

    select
        measured.referral_id,
        measured.referral_number,
        measured.worklist_reason,
        reasons.worklist_reason_name,
        reasons.action,
        measured.waiting_since_at,
        cast(measured.business_days_waiting as {{ dbt.type_bigint() }})
            as business_days_waiting,
        measured.referred_at,
        measured.specialty_name,
        coalesce(measured.location_name, 'Unknown') as location_name,
        measured.source_channel_name,
        measured.referring_practitioner_id,
        referrers.given_name as referrer_given_name,
        referrers.family_name as referrer_family_name,
        referrers.practice_name,
        referrers.liaison_name,
        measured.is_leaked,
        measured.leakage_reason
    from measured
    left join reasons
        on measured.worklist_reason = reasons.worklist_reason
    left join referrers
        on measured.referring_practitioner_id = referrers.referring_practitioner_id
    where (measured.worklist_reason <> 'not_scheduled'
           or measured.business_days_waiting > {{ var('worklist_schedule_business_days') }})
        and (measured.worklist_reason <> 'consult_note_overdue'
             or measured.business_days_waiting
             > {{ var('worklist_consult_note_business_days') }})
        and {{ dbt.dateadd('day', var('worklist_horizon_days'), 'measured.waiting_since_at') }}
        >= measured.as_of_at

)

select * from final
