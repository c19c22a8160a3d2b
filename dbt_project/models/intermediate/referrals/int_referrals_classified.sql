-- One row per referral: its funnel stage, access times, whether (and why) it leaked, whether
-- its window has closed, and the labels of its codes (from the seeds).
-- Rules are in docs/metrics.md; the window is var('leakage_window_days').
with

referrals as (

    select * from {{ ref('int_referrals_joined') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

funnel_stages as (

    select * from {{ ref('funnel_stages') }}

),

leakage_reasons as (

    select * from {{ ref('leakage_reasons') }}

),

directions as (

    select * from {{ ref('referral_directions') }}

),

channels as (

    select * from {{ ref('referral_source_channels') }}

),

-- The referral source from what the feed says of its sender (docs/metrics.md): a
-- professional requester makes it a physician referral, the Patient a self-referral, unless
-- the site's referral-source extension names a channel that such a sender can use
-- (seed referral_source_channels.sent_by); with no requester, the extension alone.
sourced as (

    select
        referrals.*,
        case
            when referrals.requester_type = 'Patient'
                then
                    case when extension_channels.sent_by in ('patient', 'any')
                            then extension_channels.channel_code
                        else 'self_referral'
                    end
            when referrals.requester_type is not null
                then
                    case when extension_channels.sent_by in ('professional', 'any')
                            then extension_channels.channel_code
                        else 'physician'
                    end
            else coalesce(extension_channels.channel_code, 'unknown')
        end as source_channel
    from referrals
    left join channels as extension_channels
        on referrals.referral_source_code = extension_channels.channel_code

),

milestones as (

    select
        sourced.*,
        reporting_dates.as_of_at,
        -- A visit, or a status that says the request was performed (completed) even where
        -- the feed holds no visit: the standards' word that the service was delivered.
        (
            sourced.first_visit_at is not null or coalesce(sourced.is_performed_status, false)
        ) as has_attended,
        (
            sourced.first_scheduled_at is not null or sourced.first_visit_at is not null
            or coalesce(sourced.is_performed_status, false)
        ) as has_scheduled,
        (sourced.loop_closed_at is not null and sourced.first_visit_at is not null)
            as has_loop_closed,
        -- An undated referral's window never closes: it stays out of matured months.
        coalesce(
            {{ dbt.dateadd('day', var('leakage_window_days'), 'sourced.referred_at') | trim }}
            <= reporting_dates.as_of_at, false
        ) as is_window_closed
    from sourced
    cross join reporting_dates

),

classified as (

    select
        *,
        case
            when has_loop_closed then 'loop_closed'
            when has_attended then 'attended'
            when has_scheduled then 'scheduled'
            else 'referred'
        end as funnel_stage,
        -- dbt's date macros render their own line breaks and long lines: layout is not
        -- checked here (sqlfluff's LT02 and LT05).
        -- noqa: disable=LT02,LT05
        {{ dbt.datediff('referred_at', 'first_scheduled_at', 'day') }} as days_to_schedule,
        {{ dbt.datediff('referred_at', 'first_visit_at', 'day') }} as days_to_first_visit,
        case when has_loop_closed
            then {{ dbt.datediff('first_visit_at', 'loop_closed_at', 'day') }}
        end as days_to_loop_close,
        -- A revoked referral leaks at once; its reason is what became of its last booked
        -- appointment when that was cancelled or missed, else referral_revoked.
        case
            when direction = 'outbound' then 'outbound_out_of_network'
            when has_attended then null
            when closed_leakage_reason = 'rejected_by_receiver' then 'rejected_by_receiver'
            when last_appointment_outcome = 'cancelled'
                and (is_closed_without_visit
                     or {{ dbt.dateadd('day', var('leakage_window_days'),
                                       'last_appointment_event_at') }} <= as_of_at)
                then 'cancelled_not_rebooked'
            when last_appointment_outcome = 'no_show'
                and (is_closed_without_visit
                     or {{ dbt.dateadd('day', var('leakage_window_days'),
                                       'last_appointment_event_at') }} <= as_of_at)
                then 'no_show_not_rebooked'
            when is_closed_without_visit then 'referral_revoked'
            when not has_scheduled and is_window_closed then 'never_scheduled'
            when last_appointment_outcome = 'booked'
                and {{ dbt.dateadd('day', var('leakage_window_days'),
                                   'last_appointment_slot_at') }} <= as_of_at
                then 'booked_slot_passed'
        end as leakage_reason
        -- noqa: enable=LT02,LT05
    from milestones

),

final as (

    select
        classified.*,
        classified.leakage_reason is not null as is_leaked,
        (classified.leakage_reason is null and not classified.has_attended) as is_pending,
        funnel_stages.funnel_stage_name,
        leakage_reasons.leakage_reason_name,
        directions.direction_name,
        coalesce(channels.channel_name, 'Unknown') as source_channel_name
    from classified
    left join funnel_stages
        on classified.funnel_stage = funnel_stages.funnel_stage
    left join directions
        on classified.direction = directions.direction
    left join leakage_reasons
        on classified.leakage_reason = leakage_reasons.leakage_reason
    left join channels
        on classified.source_channel = channels.channel_code

)

select * from final
