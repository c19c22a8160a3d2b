-- One row per as-of point and referral month: the funnel as it stood then. The points are
-- the end of every month before the as-of moment, and the as-of moment itself; a referral
-- counts at a point when it was sent by then, a stage when its milestone had happened by
-- then, and withdrawn when the status history says so at that point (revoked, or its Task
-- rejected, cancelled or failed: int_referral_status_history). Undated referrals count at no
-- point.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

status_history as (

    select * from {{ ref('int_referral_status_history') }}

),

reporting_dates as (

    select * from {{ ref('int_reporting_dates') }}

),

month_offsets as (

    {{ dbt.generate_series(240) }}

),

first_month as (

    select min(referral_month) as first_referral_month from referrals

),

points as (

    select
        {{ dbt.dateadd('month', 'month_offsets.generated_number',
                       'first_month.first_referral_month') }} as as_of_at,
        false as is_current
    from month_offsets
    cross join first_month
    cross join reporting_dates
    where {{ dbt.dateadd('month', 'month_offsets.generated_number',
                         'first_month.first_referral_month') }} < reporting_dates.as_of_at
    union all
    select
        as_of_at,
        true as is_current
    from reporting_dates

),

statuses_at_point as (

    select
        points.as_of_at,
        status_history.referral_id,
        max(case when status_history.is_closed_without_visit then 1 else 0 end) = 1
            as is_withdrawn,
        max(case when status_history.is_performed then 1 else 0 end) = 1 as is_performed
    from points
    inner join status_history
        on points.as_of_at >= status_history.valid_from_at
        and (status_history.valid_to_at is null or points.as_of_at < status_history.valid_to_at)
    where status_history.is_closed_without_visit or status_history.is_performed
    group by points.as_of_at, status_history.referral_id

),

staged as (

    select
        points.as_of_at,
        points.is_current,
        referrals.referral_month,
        (
            referrals.first_scheduled_at <= points.as_of_at
            or referrals.first_visit_at <= points.as_of_at
            or coalesce(statuses_at_point.is_performed, false)
        ) as was_scheduled,
        (
            coalesce(referrals.first_visit_at <= points.as_of_at, false)
            or coalesce(statuses_at_point.is_performed, false)
        ) as was_attended,
        coalesce(
            referrals.first_visit_at <= points.as_of_at
            and referrals.loop_closed_at <= points.as_of_at, false
        ) as was_loop_closed,
        coalesce(statuses_at_point.is_withdrawn, false) as was_revoked
    from points
    inner join referrals
        on points.as_of_at >= referrals.referred_at
    left join statuses_at_point
        on points.as_of_at = statuses_at_point.as_of_at
        and referrals.referral_id = statuses_at_point.referral_id

),

final as (

    select
        {{ dbt.concat(["cast(as_of_at as " ~ dbt.type_string() ~ ")", "'|'",
                       "cast(referral_month as " ~ dbt.type_string() ~ ")"]) }}
            as funnel_as_of_row_id,
        as_of_at,
        is_current,
        referral_month,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count,
        {{ count_if('was_scheduled') }} as scheduled_count,
        {{ count_if('was_attended') }} as attended_count,
        {{ count_if('was_loop_closed') }} as loop_closed_count,
        {{ count_if('was_revoked') }} as revoked_count
    from staged
    group by as_of_at, is_current, referral_month

)

select * from final
