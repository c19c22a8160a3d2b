-- One row per referring practitioner and forecast origin (int_referrer_forecast_origins) with
-- the 95% prediction interval: the exact quantiles of a negative binomial around the expected
-- count, its dispersion fitted by the method of moments on every backtest origin whose
-- following referrals are all known, so the band is as wide as this warehouse's referrers
-- are variable (docs/metrics.md, "Forecast"). benchmarks/forecast_backtest.py scores it.
with

forecasts as (

    select * from {{ ref('int_referrer_forecast_origins') }}

),

-- alpha = sum((actual - expected)^2 - expected) / sum(expected^2), at least 0 (0 is Poisson;
-- no backtest yet is Poisson too).
dispersion as (

    select
        coalesce(greatest(0, {{ safe_divide(
            'sum((following_referral_count - expected_count) '
            ~ '* (following_referral_count - expected_count) - expected_count)',
            'sum(expected_count * expected_count)') }}), 0) as dispersion
    from forecasts
    where following_referral_count is not null

),

dispersed as (

    select
        forecasts.*,
        dispersion.dispersion
    from forecasts
    cross join dispersion

),

bounds as (

    {{ count_interval('dispersed', ['referring_practitioner_id', 'origin_days_before'],
                      'expected_count', 'dispersion', 0.95) }}

),

final as (

    select
        dispersed.forecast_id,
        dispersed.referring_practitioner_id,
        dispersed.origin_days_before,
        dispersed.history_days,
        dispersed.history_referral_count,
        dispersed.recent_referral_count,
        dispersed.is_rate_changed,
        dispersed.expected_count,
        dispersed.dispersion,
        bounds.lower_count,
        bounds.upper_count,
        dispersed.following_referral_count
    from dispersed
    inner join bounds
        on
        dispersed.referring_practitioner_id = bounds.referring_practitioner_id
        and dispersed.origin_days_before = bounds.origin_days_before

)

select * from final
