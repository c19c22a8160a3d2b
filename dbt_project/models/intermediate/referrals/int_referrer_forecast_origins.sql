-- One row per referring practitioner and forecast origin: the as-of moment (0 days back) and
-- forecast_backtest_origin_count origins from forecast_horizon_days back, every
-- forecast_backtest_origin_spacing_days, each with the counts its forecast reads, the change
-- test, the expected count and, once all known, the referrals that came after it.
-- Rule (docs/metrics.md, "Forecast"): the rate of the last forecast_history_days (or all the
-- history there is), unless the last 90 days lie outside the central
-- forecast_change_level interval of the rate before them (the referrer stopped, started or
-- changed pace): then the last 90 days. A referrer is forecast at an origin only once known
-- there (a referral at or before it).
with

referrals as (

    select
        referring_practitioner_id,
        referred_at
    from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

data_start as (

    select cast(min(referred_at) as date) as first_referral_date
    from {{ ref('int_referrals_classified') }}

),

origin_offsets as (

    select 0 as origin_days_before
    {% for origin in range(var('forecast_backtest_origin_count')) %}
    union all
    select
        {{ var('forecast_horizon_days') + origin * var('forecast_backtest_origin_spacing_days') }}
            as origin_days_before
    {% endfor %}

),

origins as (

    select
        origin_offsets.origin_days_before,
        {{ dbt.dateadd('day', '-origin_offsets.origin_days_before', 'reporting_dates.as_of_at') }}
            as origin_at,
        least(
            {{ var('forecast_history_days') }},
            {{ dbt.datediff('data_start.first_referral_date',
                            'cast(reporting_dates.as_of_at as date)', 'day') }}
            - origin_offsets.origin_days_before
        ) as history_days
    from origin_offsets
    cross join reporting_dates
    cross join data_start

),

-- The as-of moment needs a day of history; a backtest origin a full horizon of it.
forecastable_origins as (

    select * from origins
    where
        (origin_days_before = 0 and history_days > 0)
        or history_days >= {{ var('forecast_horizon_days') }}

),

counts as (

    select
        referrals.referring_practitioner_id,
        forecastable_origins.origin_days_before,
        forecastable_origins.history_days,
        {{ count_if('referrals.referred_at <= forecastable_origins.origin_at') }}
            as referrals_before_origin_count,
        {{ count_if(dbt.dateadd('day', '-forecastable_origins.history_days',
                                'forecastable_origins.origin_at')
                    ~ ' < referrals.referred_at and '
                    ~ 'referrals.referred_at <= forecastable_origins.origin_at') }}
            as history_referral_count,
        {{ count_if(dbt.dateadd('day', -var('forecast_horizon_days'),
                                'forecastable_origins.origin_at')
                    ~ ' < referrals.referred_at and '
                    ~ 'referrals.referred_at <= forecastable_origins.origin_at') }}
            as recent_referral_count,
        {{ count_if('forecastable_origins.origin_at < referrals.referred_at and '
                    ~ 'referrals.referred_at <= '
                    ~ dbt.dateadd('day', var('forecast_horizon_days'),
                                  'forecastable_origins.origin_at')) }}
            as following_referral_count
    from referrals
    cross join forecastable_origins
    group by
        referrals.referring_practitioner_id,
        forecastable_origins.origin_days_before,
        forecastable_origins.history_days

),

known_referrers as (

    select * from counts
    where referrals_before_origin_count > 0

),

-- The change test needs a horizon of history before the last 90 days.
change_tests as (

    select
        referring_practitioner_id,
        origin_days_before,
        cast(history_referral_count - recent_referral_count as {{ type_double() }})
        * {{ var('forecast_horizon_days') }}
        / (history_days - {{ var('forecast_horizon_days') }}) as earlier_rate_count,
        cast(0 as {{ type_double() }}) as poisson_dispersion
    from known_referrers
    where history_days - {{ var('forecast_horizon_days') }} >= {{ var('forecast_horizon_days') }}

),

change_bounds as (

    {{ count_interval('change_tests', ['referring_practitioner_id', 'origin_days_before'],
                      'earlier_rate_count', 'poisson_dispersion',
                      var('forecast_change_level')) }}

),

tested as (

    select
        known_referrers.*,
        coalesce(
            known_referrers.recent_referral_count < change_bounds.lower_count
            or known_referrers.recent_referral_count > change_bounds.upper_count,
            false
        ) as is_rate_changed
    from known_referrers
    left join change_bounds
        on
        known_referrers.referring_practitioner_id = change_bounds.referring_practitioner_id
        and known_referrers.origin_days_before = change_bounds.origin_days_before

),

final as (

    select
        {{ dbt.concat(['referring_practitioner_id', "'|'",
                       'cast(origin_days_before as ' ~ dbt.type_string() ~ ')']) }}
            as forecast_id,
        referring_practitioner_id,
        origin_days_before,
        cast(history_days as {{ dbt.type_bigint() }}) as history_days,
        history_referral_count,
        recent_referral_count,
        is_rate_changed,
        case
            when is_rate_changed then cast(recent_referral_count as {{ type_double() }})
            else cast(history_referral_count as {{ type_double() }})
                * {{ var('forecast_horizon_days') }} / history_days
        end as expected_count,
        -- Known only when the whole horizon after the origin has passed.
        case when origin_days_before >= {{ var('forecast_horizon_days') }}
                then following_referral_count
        end as following_referral_count
    from tested

)

select * from final
