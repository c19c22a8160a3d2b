-- One row per referring practitioner: expected referrals in the next 90 days with a 95%
-- prediction interval, and whether their last 90 days fell below the interval the forecast
-- made 90 days ago gave (slipping, before a referrer shows as dormant).
-- Rule (docs/metrics.md, "Forecast"): int_referrer_forecast_origins (the expected count)
-- and int_referrer_forecasts (the interval); this mart is the as-of origin beside the one
-- forecast_horizon_days back.
with

forecasts as (

    select * from {{ ref('int_referrer_forecasts') }}

),

current_forecasts as (

    select * from forecasts
    where origin_days_before = 0

),

prior_forecasts as (

    select * from forecasts
    where origin_days_before = {{ var('forecast_horizon_days') }}

),

final as (

    select
        current_forecasts.referring_practitioner_id,
        current_forecasts.history_days,
        current_forecasts.history_referral_count,
        current_forecasts.is_rate_changed,
        current_forecasts.expected_count,
        current_forecasts.dispersion,
        current_forecasts.lower_count,
        current_forecasts.upper_count,
        current_forecasts.recent_referral_count,
        prior_forecasts.expected_count as prior_expected_count,
        prior_forecasts.lower_count as prior_lower_count,
        prior_forecasts.upper_count as prior_upper_count,
        -- Null when there is no forecast from 90 days ago: too little history then, or the
        -- referrer was not known yet.
        current_forecasts.recent_referral_count < prior_forecasts.lower_count as is_slipping
    from current_forecasts
    left join prior_forecasts
        on current_forecasts.referring_practitioner_id = prior_forecasts.referring_practitioner_id

)

select * from final
