-- One row per calendar day from 2000-01-03 (a Monday) to 2035: whether it is a business
-- day (Monday to Friday and not in the holidays seed) and how many business days have
-- passed up to it, so the business days between two dates is one subtraction
-- (docs/metrics.md, "Business days").
with

days as (

    {{ dbt.date_spine('day', "cast('2000-01-03' as date)", "cast('2036-01-01' as date)") }}

),

holidays as (

    select * from {{ ref('holidays') }}

),

classified as (

    select
        cast(days.date_day as date) as date_day,
        -- 2000-01-03 was a Monday: 0 = Monday ... 5 = Saturday, 6 = Sunday.
        mod({{ dbt.datediff("cast('2000-01-03' as date)", 'days.date_day', 'day') }}, 7)
            as weekday_index,
        holidays.holiday_name
    from days
    left join holidays
        on cast(days.date_day as date) = cast(holidays.holiday_date as date)

),

final as (

    select
        date_day,
        weekday_index,
        holiday_name,
        (weekday_index < 5 and holiday_name is null) as is_business_day,
        sum(case when weekday_index < 5 and holiday_name is null then 1 else 0 end) over (
            order by date_day rows between unbounded preceding and current row
        ) as business_day_number
    from classified

)

select * from final
