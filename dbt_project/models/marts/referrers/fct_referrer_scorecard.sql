-- One row per referring practice and quarter: the Four C's a liaison brings to the practice.
-- Capacity (median days to first visit), communication (loop closure rate, median days to
-- the consult note), consistency (share of referrals seen within
-- var('scorecard_target_days_to_visit') days, over referrals that have had that long), and
-- the practice's loyalty to us (share of its referrals that stayed: 1 - leakage rate).
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

referrer_practices as (

    select * from {{ ref('int_referrer_practices') }}

),

-- A quarter is closed when each of its months is (int_referral_months, docs/metrics.md).
quarters as (

    select
        cast({{ dbt.date_trunc('quarter', 'referral_month') }} as date) as referral_quarter,
        min(case when is_month_closed then 1 else 0 end) = 1 as is_quarter_closed
    from {{ ref('int_referral_months') }}
    group by cast({{ dbt.date_trunc('quarter', 'referral_month') }} as date)

),

practice_referrals as (

    select
        referrer_practices.practice_key,
        referrer_practices.practice_name,
        referrer_practices.liaison_name,
        cast({{ dbt.date_trunc('quarter', 'referrals.referred_at') }} as date)
            as referral_quarter,
        referrals.*,
        {{ dbt.dateadd('day', var('scorecard_target_days_to_visit'), 'referrals.referred_at') }}
        <= referrals.as_of_at as has_had_target_window,
        (
            referrals.days_to_first_visit is not null
            and referrals.days_to_first_visit <= {{ var('scorecard_target_days_to_visit') }})
            as is_seen_within_target
    from referrals
    inner join referrer_practices
        on referrals.referring_practitioner_id = referrer_practices.referring_practitioner_id

),

aggregated as (

    select
        practice_key,
        referral_quarter,
        max(practice_name) as practice_name,
        max(liaison_name) as liaison_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count,
        {{ count_if('has_attended') }} as attended_count,
        {{ count_if('has_loop_closed') }} as loop_closed_count,
        {{ count_if('is_leaked') }} as leaked_count,
        {{ count_if('has_had_target_window') }} as target_window_referral_count,
        {{ count_if('has_had_target_window and is_seen_within_target') }}
            as seen_within_target_count,
        {{ median('days_to_first_visit') }} as median_days_to_first_visit,
        {{ median('days_to_loop_close') }} as median_days_to_loop_close
    from practice_referrals
    group by practice_key, referral_quarter

),

final as (

    select
        {{ dbt.concat(["aggregated.practice_key", "'|'",
                       "cast(aggregated.referral_quarter as " ~ dbt.type_string() ~ ")"]) }}
            as scorecard_row_id,
        aggregated.practice_key,
        aggregated.practice_name,
        aggregated.liaison_name,
        aggregated.referral_quarter,
        coalesce(quarters.is_quarter_closed, false) as is_window_closed,
        aggregated.referred_count,
        aggregated.attended_count,
        aggregated.loop_closed_count,
        aggregated.leaked_count,
        aggregated.target_window_referral_count,
        aggregated.seen_within_target_count,
        cast(aggregated.median_days_to_first_visit as {{ type_double() }})
            as median_days_to_first_visit,
        {{ safe_divide('aggregated.loop_closed_count', 'aggregated.attended_count') }}
            as loop_closure_rate,
        cast(aggregated.median_days_to_loop_close as {{ type_double() }})
            as median_days_to_loop_close,
        {{ safe_divide('aggregated.seen_within_target_count',
                       'aggregated.target_window_referral_count') }} as seen_within_target_rate,
        {{ safe_divide('aggregated.referred_count - aggregated.leaked_count',
                       'aggregated.referred_count') }} as stayed_in_network_rate
    from aggregated
    left join quarters
        on aggregated.referral_quarter = quarters.referral_quarter

)

select * from final
