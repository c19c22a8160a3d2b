-- One row per web session: who, when it started, the UTM campaign it came in on, what it did.
with

events as (

    select * from {{ ref('stg_web__events') }}

),

final as (

    select
        session_id,
        min(user_pseudo_id) as user_pseudo_id,
        min(event_at) as session_started_at,
        cast({{ dbt.date_trunc('month', 'min(event_at)') }} as date) as session_month,
        max(utm_source) as utm_source,
        max(utm_medium) as utm_medium,
        max(utm_campaign) as utm_campaign,
        count(*) as event_count,
        {{ count_if("event_name = 'generate_lead'") }} as lead_event_count,
        {{ count_if("event_name = 'click_to_call'") }} as click_to_call_count
    from events
    group by session_id

)

select * from final
