-- The funnel over every referral, by month, specialty, location, channel, referrer and
-- direction: its counts sum to the same totals as fct_referrals and the leakage marts.
-- Outbound referrals leave by definition (they are never scheduled with us); filter
-- direction to see the funnel of referrals addressed to the network.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

months as (

    select
        referral_month,
        is_month_closed
    from {{ ref('int_referral_months') }}

),

aggregated as (

    select
        referral_month,
        specialty_code,
        specialty_name,
        coalesce(location_name, 'Unknown') as location_name,
        source_channel,
        source_channel_name,
        referring_practitioner_id,
        direction,
        direction_name,
        max(referring_provider_npi) as referring_provider_npi,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count,
        {{ count_if('has_scheduled') }} as scheduled_count,
        {{ count_if('has_attended') }} as attended_count,
        {{ count_if('has_loop_closed') }} as loop_closed_count,
        {{ count_if('is_leaked') }} as leaked_count,
        {{ count_if('is_pending') }} as pending_count,
        {{ median('days_to_schedule') }} as median_days_to_schedule,
        {{ median('days_to_first_visit') }} as median_days_to_first_visit,
        {{ median('days_to_loop_close') }} as median_days_to_loop_close
    from referrals
    group by
        referral_month,
        specialty_code,
        specialty_name,
        coalesce(location_name, 'Unknown'),
        source_channel,
        source_channel_name,
        referring_practitioner_id,
        direction,
        direction_name

),

final as (

    select
        {{ dbt.concat(["coalesce(cast(aggregated.referral_month as " ~ dbt.type_string()
                       ~ "), 'undated')", "'|'",
                       "coalesce(aggregated.specialty_code, 'unknown')", "'|'",
                       "aggregated.location_name", "'|'", "aggregated.source_channel", "'|'",
                       "coalesce(aggregated.referring_practitioner_id, '')", "'|'",
                       "aggregated.direction"]) }}
            as funnel_row_id,
        aggregated.referral_month,
        aggregated.specialty_code,
        aggregated.specialty_name,
        aggregated.location_name,
        aggregated.source_channel,
        aggregated.source_channel_name,
        aggregated.referring_practitioner_id,
        aggregated.referring_provider_npi,
        aggregated.direction,
        aggregated.direction_name,
        coalesce(months.is_month_closed, false) as is_window_closed,
        aggregated.referred_count,
        aggregated.scheduled_count,
        aggregated.attended_count,
        aggregated.loop_closed_count,
        aggregated.leaked_count,
        aggregated.pending_count,
        {{ safe_divide('scheduled_count', 'referred_count') }} as scheduling_rate,
        {{ safe_divide('attended_count', 'scheduled_count') }} as attendance_rate,
        {{ safe_divide('loop_closed_count', 'attended_count') }} as loop_closure_rate,
        {{ safe_divide('attended_count', 'referred_count') }} as referral_conversion_rate,
        {{ safe_divide('leaked_count', 'referred_count') }} as leakage_rate,
        cast(aggregated.median_days_to_schedule as {{ type_double() }})
            as median_days_to_schedule,
        cast(aggregated.median_days_to_first_visit as {{ type_double() }})
            as median_days_to_first_visit,
        cast(aggregated.median_days_to_loop_close as {{ type_double() }})
            as median_days_to_loop_close
    from aggregated
    left join months
        on aggregated.referral_month = months.referral_month

)

select * from final
