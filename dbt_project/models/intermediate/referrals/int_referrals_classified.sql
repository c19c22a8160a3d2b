-- One row per referral: its funnel stage, access times, and whether (and why) it leaked.
-- Rules are in docs/metrics.md; the window is var('leakage_window_days').
with

referrals as (

    select * from {{ ref('int_referrals_joined') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

milestones as (

    select
        referrals.*,
        reporting_dates.as_of_at,
        referrals.first_visit_at is not null as has_attended,
        (referrals.first_scheduled_at is not null or referrals.first_visit_at is not null)
            as has_scheduled,
        (referrals.loop_closed_at is not null and referrals.first_visit_at is not null)
            as has_loop_closed
    from referrals
    cross join reporting_dates

),

final as (

    select
        milestones.*,
        case
            when has_loop_closed then 'loop_closed'
            when has_attended then 'attended'
            when has_scheduled then 'scheduled'
            else 'referred'
        end as funnel_stage,
        {{ dbt.datediff('referred_at', 'first_scheduled_at', 'day') }} as days_to_schedule,
        {{ dbt.datediff('referred_at', 'first_visit_at', 'day') }} as days_to_first_visit,
        case when has_loop_closed
            then {{ dbt.datediff('first_visit_at', 'loop_closed_at', 'day') }}
        end as days_to_loop_close,
        case
            when direction = 'outbound' then 'outbound_out_of_network'
            when has_attended then null
            when not has_scheduled
                and {{ dbt.dateadd('day', var('leakage_window_days'), 'referred_at') }}
                <= as_of_at
                then 'never_scheduled'
            when last_appointment_outcome = 'cancelled'
                and {{ dbt.dateadd('day', var('leakage_window_days'),
                                   'last_appointment_event_at') }} <= as_of_at
                then 'cancelled_not_rebooked'
            when last_appointment_outcome = 'no_show'
                and {{ dbt.dateadd('day', var('leakage_window_days'),
                                   'last_appointment_event_at') }} <= as_of_at
                then 'no_show_not_rebooked'
        end as leakage_reason
    from milestones

)

select
    *,
    leakage_reason is not null as is_leaked,
    (leakage_reason is null and not has_attended) as is_pending
from final
