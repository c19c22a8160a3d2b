-- One row per calendar day from 2000 to 2035: the time spine dbt's semantic layer needs.
with

days as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2036-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
