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
            when
                referrals.has_attended and not referrals.has_loop_closed
                then 'consult_note_overdue'
            when referrals.has_attended or not referrals.is_open_status then null
            when referrals.last_appointment_outcome = 'booked'
                and referrals.last_appointment_slot_at < referrals.as_of_at
                then 'booked_slot_passed'
            when referrals.last_appointment_outcome in ('cancelled', 'no_show') then 'not_rebooked'
            when not referrals.has_scheduled then 'not_scheduled'
        end as worklist_reason
    from referrals

),

waiting as (

    select
        candidates.*,
        case candidates.worklist_reason
            when 'consult_note_overdue' then candidates.first_visit_at
            when 'booked_slot_passed' then candidates.last_appointment_slot_at
            when 'not_rebooked' then candidates.last_appointment_event_at
            when 'not_scheduled' then candidates.referred_at
        end as waiting_since_at
    from candidates
    where candidates.worklist_reason is not null

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
    where (
        measured.worklist_reason <> 'not_scheduled'
        or measured.business_days_waiting > {{ var('worklist_schedule_business_days') }}
    )
    and (
        measured.worklist_reason <> 'consult_note_overdue'
        or measured.business_days_waiting
        > {{ var('worklist_consult_note_business_days') }}
    )
    and {{ dbt.dateadd('day', var('worklist_horizon_days'), 'measured.waiting_since_at') }}
    >= measured.as_of_at

)

select * from final
