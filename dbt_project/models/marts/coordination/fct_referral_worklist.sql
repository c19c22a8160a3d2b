-- One row per referral a coordinator must act on as of the as-of moment, with the first
-- reason that applies (seed worklist_reasons), how many business days it has waited, when it
-- is due and whether it is overdue, and who to call. The seed says when a reason is listed
-- (listed_after_business_days) and how long it then has (due_within_business_days); the var
-- worklist_horizon_days ends a wait (docs/metrics.md, "Worklist").
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
        reasons.worklist_reason_name,
        reasons.action,
        reasons.listed_after_business_days,
        reasons.due_within_business_days,
        as_of_day.business_day_number - since_day.business_day_number
            as business_days_waiting,
        since_day.business_day_number + reasons.listed_after_business_days
        + reasons.due_within_business_days as due_business_day_number
    from waiting
    inner join reasons
        on waiting.worklist_reason = reasons.worklist_reason
    inner join business_days as since_day
        on cast(waiting.waiting_since_at as date) = since_day.date_day
    inner join business_days as as_of_day
        on cast(waiting.as_of_at as date) = as_of_day.date_day

),

due as (

    -- The due date is the business day that many business days after the wait began.
    select
        measured.*,
        due_day.date_day as due_date
    from measured
    inner join business_days as due_day
        on measured.due_business_day_number = due_day.business_day_number
        and due_day.is_business_day

),

final as (

    select
        due.referral_id,
        due.referral_number,
        due.worklist_reason,
        due.worklist_reason_name,
        due.action,
        due.waiting_since_at,
        cast(due.business_days_waiting as {{ dbt.type_bigint() }})
            as business_days_waiting,
        due.due_date,
        cast(
            due.listed_after_business_days + due.due_within_business_days
            - due.business_days_waiting as {{ dbt.type_bigint() }}
        ) as business_days_until_due,
        due.business_days_waiting
        > due.listed_after_business_days + due.due_within_business_days as is_overdue,
        cast(due.as_of_at as date) as as_of_date,
        due.referred_at,
        due.specialty_name,
        coalesce(due.location_name, 'Unknown') as location_name,
        due.source_channel_name,
        due.referring_practitioner_id,
        referrers.given_name as referrer_given_name,
        referrers.family_name as referrer_family_name,
        referrers.practice_name,
        referrers.liaison_name,
        due.is_leaked,
        due.leakage_reason
    from due
    left join referrers
        on due.referring_practitioner_id = referrers.referring_practitioner_id
    where (
        due.business_days_waiting > due.listed_after_business_days
        or due.listed_after_business_days = 0
    )
    and {{ dbt.dateadd('day', var('worklist_horizon_days'), 'due.waiting_since_at') }}
    >= due.as_of_at

)

select * from final
