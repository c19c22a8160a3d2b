-- One row per referring practitioner: referral volumes, rank on the 80/20 curve, segment.
-- Segment rule (docs/metrics.md), over the last var('segment_period_days') days ("recent")
-- and the same span before it ("previous"), as of int_reporting_dates:
--   new        first referral within the recent period
--   dormant    no referral in the recent period
--   growing    recent >= previous x (1 + var('segment_change_threshold'))
--   declining  recent <= previous x (1 - var('segment_change_threshold'))
--   steady     otherwise
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

volumes as (

    select
        referrals.referring_practitioner_id,
        min(referrals.referred_at) as first_referral_at,
        max(referrals.referred_at) as last_referral_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as lifetime_referral_count,
        {{ count_if(dbt.dateadd('day', -365, 'reporting_dates.as_of_at')
                    ~ ' < referrals.referred_at') }} as trailing_12_month_referral_count,
        {{ count_if(dbt.dateadd('day', -var('segment_period_days'),
                                'reporting_dates.as_of_at') ~ ' < referrals.referred_at') }}
            as recent_period_referral_count,
        {{ count_if(dbt.dateadd('day', -2 * var('segment_period_days'),
                                'reporting_dates.as_of_at') ~ ' < referrals.referred_at and '
                    ~ 'referrals.referred_at <= '
                    ~ dbt.dateadd('day', -var('segment_period_days'),
                                  'reporting_dates.as_of_at')) }}
            as previous_period_referral_count,
        max(reporting_dates.as_of_at) as as_of_at
    from referrals
    cross join reporting_dates
    group by referrals.referring_practitioner_id

),

ranked as (

    select
        volumes.*,
        row_number() over (
            order by volumes.lifetime_referral_count desc, volumes.referring_practitioner_id asc
        ) as volume_rank,
        sum(volumes.lifetime_referral_count) over (
            order by volumes.lifetime_referral_count desc, volumes.referring_practitioner_id asc
            rows between unbounded preceding and current row
        ) as cumulative_referral_count,
        sum(volumes.lifetime_referral_count) over () as all_referral_count,
        count(*) over () as referrer_count
    from volumes

),

final as (

    select
        ranked.*,
        case
            when ranked.first_referral_at
                > {{ dbt.dateadd('day', -var('segment_period_days'), 'as_of_at') }}
                then 'new'
            when ranked.recent_period_referral_count = 0 then 'dormant'
            when ranked.recent_period_referral_count
                >= ranked.previous_period_referral_count
                * (1 + {{ var('segment_change_threshold') }})
                then 'growing'
            when ranked.recent_period_referral_count
                <= ranked.previous_period_referral_count
                * (1 - {{ var('segment_change_threshold') }})
                then 'declining'
            else 'steady'
        end as segment
    from ranked

)

select * from final
