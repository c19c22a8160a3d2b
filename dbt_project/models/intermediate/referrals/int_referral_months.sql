-- One row per referral month: whether its outcomes are final, the one definition of a
-- "closed" month that every mart, the guide, MetricFlow and the dashboard read
-- (docs/metrics.md, "Maturity"). A month is closed once every referral sent in it has had its
-- leakage window and none is still pending, or, whatever is pending, once
-- var('outcome_window_days') have passed since the month ended.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referral_month is not null

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

months as (

    select
        referral_month,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count,
        {{ count_if('is_pending') }} as pending_count
    from referrals
    group by referral_month

),

final as (

    select
        months.referral_month,
        months.referred_count,
        months.pending_count,
        (
            (
                {{ month_window_closed('months.referral_month', 'reporting_dates.as_of_at',
                                       'leakage_window_days') }}
                and months.pending_count = 0
            )
            or {{ month_window_closed('months.referral_month', 'reporting_dates.as_of_at',
                                      'outcome_window_days') }}
        ) as is_month_closed
    from months
    cross join reporting_dates

)

select * from final
