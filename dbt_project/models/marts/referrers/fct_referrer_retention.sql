with

referrals as (

    select * from {{ ref('int_referrals_classified') }}
    where referring_practitioner_id is not null

),

reporting_dates as (

    select
        cast({{ dbt.date_trunc('month', 'as_of_at') }} as date) as as_of_month
    from {{ ref('int_reporting_dates') }}

),

month_offsets as (

    {{ dbt.generate_series(240) }}

),

monthly_activity as (

    select
        referring_practitioner_id,
        referral_month,
        count(*) as referral_count
    from referrals
    group by referring_practitioner_id, referral_month

),

cohorts as (

    select
        referring_practitioner_id,
        min(referral_month) as cohort_month
    from monthly_activity
    group by referring_practitioner_id

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_size
    from cohorts
    group by cohort_month

),

grid as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        -- A whole number on every engine (Spark's series numbers are not integers).
        cast(month_offsets.generated_number - 1 as {{ dbt.type_bigint() }})
            as months_since_first_referral,
        cast({{ dbt.dateadd('month', 'month_offsets.generated_number - 1',
                            'cohort_sizes.cohort_month') }} as date) as activity_month
    from cohort_sizes
    cross join month_offsets
    cross join reporting_dates
    where {{ dbt.dateadd('month', 'month_offsets.generated_number - 1',
                         'cohort_sizes.cohort_month') }} <= reporting_dates.as_of_month

),

cohort_activity as (

    select
        cohorts.cohort_month,
        monthly_activity.referral_month as activity_month,
        count(*) as active_referrer_count,
        sum(monthly_activity.referral_count) as referral_count
    from monthly_activity
    inner join cohorts
        on monthly_activity.referring_practitioner_id = cohorts.referring_practitioner_id
    group by cohorts.cohort_month, monthly_activity.referral_month

),

final as (

    select
        {{ dbt.concat(["cast(grid.cohort_month as " ~ dbt.type_string() ~ ")", "'|'",
                       "cast(grid.months_since_first_referral as " ~ dbt.type_string()
                       ~ ")"]) }} as retention_row_id,
        grid.cohort_month,
        grid.months_since_first_referral,
        grid.activity_month,
        cast(grid.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(coalesce(cohort_activity.active_referrer_count, 0) as {{ dbt.type_bigint() }})
            as active_referrer_count,
        {{ safe_divide('coalesce(cohort_activity.active_referrer_count, 0)',
                       'grid.cohort_size') }} as retention_rate,
        cast(coalesce(cohort_activity.referral_count, 0) as {{ dbt.type_bigint() }})
            as referral_count
    from grid
    left join cohort_activity
        on grid.cohort_month = cohort_activity.cohort_month
        and grid.activity_month = cohort_activity.activity_month

)

select * from final
