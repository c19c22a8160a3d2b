-- The funnel counts referrals addressed to the network (inbound and internal); outbound
-- referrals leave by definition and are counted in fct_referral_leakage.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where direction <> 'outbound'

),

aggregated as (

    select
        referral_month,
        specialty_code,
        specialty_name,
        coalesce(location_name, 'Unknown') as location_name,
        source_channel,
        coalesce(referring_practitioner_id, 'none') as referring_practitioner_id,
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
        coalesce(referring_practitioner_id, 'none')

),

final as (

    select
        {{ dbt.concat(["cast(referral_month as " ~ dbt.type_string() ~ ")", "'|'",
                       "coalesce(specialty_code, 'unknown')", "'|'", "location_name", "'|'",
                       "source_channel", "'|'",
                       "referring_practitioner_id"]) }} as funnel_row_id,
        referral_month,
        specialty_code,
        specialty_name,
        location_name,
        source_channel,
        referring_practitioner_id,
        referring_provider_npi,
        referred_count,
        scheduled_count,
        attended_count,
        loop_closed_count,
        leaked_count,
        pending_count,
        {{ safe_divide('scheduled_count', 'referred_count') }} as scheduling_rate,
        {{ safe_divide('attended_count', 'scheduled_count') }} as attendance_rate,
        {{ safe_divide('loop_closed_count', 'attended_count') }} as loop_closure_rate,
        {{ safe_divide('attended_count', 'referred_count') }} as referral_conversion_rate,
        cast(median_days_to_schedule as {{ type_double() }}) as median_days_to_schedule,
        cast(median_days_to_first_visit as {{ type_double() }})
            as median_days_to_first_visit,
        cast(median_days_to_loop_close as {{ type_double() }}) as median_days_to_loop_close
    from aggregated

)

select * from final
