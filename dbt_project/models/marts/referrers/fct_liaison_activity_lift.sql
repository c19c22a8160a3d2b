-- One row per liaison activity type and liaison: referrals from the visited practice in the
-- window after each activity against the same window before, minus the same change for
-- practices nobody visited in the 90 days either side (difference in differences). Windows
-- are var('lift_window_days') long, shortened equally on both sides when the as-of moment
-- cuts the after-window (docs/metrics.md, "Liaison activity lift").
with

activities as (

    select * from {{ ref('stg_crm__liaison_activities') }}
    where is_completed and practice_id is not null

),

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

referrer_practices as (

    select * from {{ ref('int_referrer_practices') }}

),

activity_types as (

    select * from {{ ref('liaison_activity_types') }}

),

reporting_dates as (

    select cast(as_of_at as date) as as_of_date from {{ ref('int_reporting_dates') }}

),

practice_referrals as (

    select
        referrer_practices.practice_key,
        cast(referrals.referred_at as date) as referred_date
    from referrals
    inner join referrer_practices
        on referrals.referring_practitioner_id = referrer_practices.referring_practitioner_id

),

practices as (

    select distinct practice_key from referrer_practices
    where practice_key is not null

),

windows as (

    select
        activities.activity_id,
        activities.activity_type,
        coalesce(activity_types.activity_type_name, 'Unknown') as activity_type_name,
        activities.liaison_name,
        activities.practice_id,
        cast(activities.activity_date as date) as activity_date,
        least(
            {{ var('lift_window_days') }},
              {{ dbt.datediff('cast(activities.activity_date as date)',
                              'reporting_dates.as_of_date', 'day') }}) as window_days
    from activities
    cross join reporting_dates
    left join activity_types
        on activities.activity_type = activity_types.activity_type
    where cast(activities.activity_date as date) < reporting_dates.as_of_date

),

activity_dates as (

    -- A window depends only on its activity's date: activities of one day share every
    -- count below, which keeps the work linear in practices, not activities x practices.
    select distinct
        activity_date,
        window_days
    from windows

),

date_practice_changes as (

    -- Every practice's referrals before and after each activity date.
    select
        activity_dates.activity_date,
        practices.practice_key,
        {{ count_if(dbt.dateadd('day', '-activity_dates.window_days',
                                'activity_dates.activity_date')
                    ~ ' <= practice_referrals.referred_date and '
                    ~ 'practice_referrals.referred_date < activity_dates.activity_date') }}
            as before_count,
        {{ count_if('activity_dates.activity_date < practice_referrals.referred_date and '
                    ~ 'practice_referrals.referred_date <= '
                    ~ dbt.dateadd('day', 'activity_dates.window_days',
                                  'activity_dates.activity_date')) }}
            as after_count
    from activity_dates
    cross join practices
    left join practice_referrals
        on practices.practice_key = practice_referrals.practice_key
        and {{ dbt.dateadd('day', '-activity_dates.window_days',
                           'activity_dates.activity_date') }}
        <= practice_referrals.referred_date
        and practice_referrals.referred_date
        <= {{ dbt.dateadd('day', 'activity_dates.window_days',
                          'activity_dates.activity_date') }}
    group by activity_dates.activity_date, practices.practice_key

),

visited_recently as (

    -- Practices some liaison visited within the window either side of each activity date.
    select distinct
        activity_dates.activity_date,
        activities.practice_id as practice_key
    from activity_dates
    inner join activities
        on {{ dbt.dateadd('day', -var('lift_window_days'), 'activity_dates.activity_date') }}
        <= cast(activities.activity_date as date)
        and cast(activities.activity_date as date)
        <= {{ dbt.dateadd('day', var('lift_window_days'), 'activity_dates.activity_date') }}

),

comparison as (

    select
        date_practice_changes.activity_date,
        count(*) as comparison_practice_count,
        avg(cast(
            date_practice_changes.after_count - date_practice_changes.before_count
            as {{ type_double() }}
        )) as comparison_change
    from date_practice_changes
    left join visited_recently
        on date_practice_changes.activity_date = visited_recently.activity_date
        and date_practice_changes.practice_key = visited_recently.practice_key
    where visited_recently.practice_key is null
    group by date_practice_changes.activity_date

),

activity_lift as (

    select
        windows.*,
        coalesce(visited.before_count, 0) as before_count,
        coalesce(visited.after_count, 0) as after_count,
        coalesce(comparison.comparison_practice_count, 0) as comparison_practice_count,
        comparison.comparison_change
    from windows
    left join date_practice_changes as visited
        on windows.activity_date = visited.activity_date
        and windows.practice_id = visited.practice_key
    left join comparison
        on windows.activity_date = comparison.activity_date

),

final as (

    select
        {{ dbt.concat(["activity_type", "'|'", "coalesce(liaison_name, '')"]) }}
            as lift_row_id,
        activity_type,
        activity_type_name,
        liaison_name,
        cast(count(*) as {{ dbt.type_bigint() }}) as activity_count,
        cast(count(distinct practice_id) as {{ dbt.type_bigint() }}) as practice_count,
        cast(min(window_days) as {{ dbt.type_bigint() }}) as shortest_window_days,
        min(window_days) >= {{ var('lift_window_days') }} as is_window_complete,
        cast(sum(before_count) as {{ dbt.type_bigint() }}) as referrals_before_count,
        cast(sum(after_count) as {{ dbt.type_bigint() }}) as referrals_after_count,
        cast(sum(comparison_practice_count) as {{ dbt.type_bigint() }})
            as comparison_practice_count,
        avg(cast(after_count - before_count as {{ type_double() }}))
            as visited_change_per_activity,
        avg(comparison_change) as comparison_change_per_practice,
        avg(cast(after_count - before_count as {{ type_double() }}) - comparison_change)
            as lift_per_activity,
        (
            count(*) < {{ var('lift_min_sample') }}
            or sum(comparison_practice_count) < {{ var('lift_min_sample') }}
        ) as is_small_sample,
        -- One verdict: a window the as-of moment cut short has not seen the after-effect yet.
        case
            when min(window_days) < {{ var('lift_window_days') }} then 'insufficient_data'
            when
                count(*) < {{ var('lift_min_sample') }}
                or sum(comparison_practice_count) < {{ var('lift_min_sample') }}
                then 'small_sample'
            else 'ok'
        end as reliability
    from activity_lift
    group by activity_type, activity_type_name, liaison_name

)

select * from final
