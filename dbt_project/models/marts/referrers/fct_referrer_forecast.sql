-- One row per referring practitioner: expected referrals in the next 90 days with a 95%
-- prediction interval, and whether their last 90 days fell below the interval a forecast
-- made 90 days ago gave (slipping, before a referrer shows as dormant).
-- Rule (docs/metrics.md, "Forecast"): referrals arrive as a Poisson process at the rate of
-- the last forecast_history_days (or all the history there is, if shorter); the interval is
-- the normal approximation expected +/- 1.96 x sqrt(expected), floored at 0.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

data_start as (

    select cast(min(referred_at) as date) as first_referral_date
    from {{ ref('int_referrals_classified') }}

),

horizons as (

    select
        reporting_dates.as_of_at,
        {{ dbt.dateadd('day', -var('forecast_horizon_days'), 'reporting_dates.as_of_at') }}
            as prior_as_of_at,
        least(
            {{ var('forecast_history_days') }},
              {{ dbt.datediff('data_start.first_referral_date',
                              'cast(reporting_dates.as_of_at as date)', 'day') }})
            as history_days,
        least(
            {{ var('forecast_history_days') }},
              {{ dbt.datediff('data_start.first_referral_date',
                              'cast(reporting_dates.as_of_at as date)', 'day') }}
            - {{ var('forecast_horizon_days') }}
        ) as prior_history_days
    from reporting_dates
    cross join data_start

),

counts as (

    select
        referrals.referring_practitioner_id,
        horizons.history_days,
        horizons.prior_history_days,
        {{ count_if(dbt.dateadd('day', '-horizons.history_days', 'horizons.as_of_at')
                    ~ ' < referrals.referred_at and referrals.referred_at <= horizons.as_of_at') }}
            as history_referral_count,
        {{ count_if('horizons.prior_as_of_at < referrals.referred_at and '
                    ~ 'referrals.referred_at <= horizons.as_of_at') }}
            as recent_referral_count,
        {{ count_if(dbt.dateadd('day', '-horizons.prior_history_days', 'horizons.prior_as_of_at')
                    ~ ' < referrals.referred_at and '
                    ~ 'referrals.referred_at <= horizons.prior_as_of_at') }}
            as prior_history_referral_count
    from referrals
    cross join horizons
    group by
        referrals.referring_practitioner_id, horizons.history_days,
        horizons.prior_history_days

),

expected as (

    select
        counts.*,
        case when
                counts.history_days > 0
                then cast(counts.history_referral_count as {{ type_double() }})
                    * {{ var('forecast_horizon_days') }} / counts.history_days
        end as expected_count,
        case when counts.prior_history_days >= {{ var('forecast_horizon_days') }}
                then cast(counts.prior_history_referral_count as {{ type_double() }})
                    * {{ var('forecast_horizon_days') }} / counts.prior_history_days
        end
            as prior_expected_count
    from counts

),

final as (

    select
        referring_practitioner_id,
        cast(history_days as {{ dbt.type_bigint() }}) as history_days,
        history_referral_count,
        expected_count,
        case when expected_count is not null
                then greatest(0, expected_count - 1.96 * sqrt(expected_count))
        end as lower_count,
        expected_count + 1.96 * sqrt(expected_count) as upper_count,
        recent_referral_count,
        prior_expected_count,
        case when prior_expected_count is not null
                then greatest(0, prior_expected_count - 1.96 * sqrt(prior_expected_count))
        end as prior_lower_count,
        prior_expected_count + 1.96 * sqrt(prior_expected_count) as prior_upper_count,
        -- Null when there is not yet a forecast from 90 days ago to compare with.
        case when prior_expected_count is not null
                then recent_referral_count
                    < greatest(0, prior_expected_count - 1.96 * sqrt(prior_expected_count))
        end as is_slipping
    from expected

)

select * from final
