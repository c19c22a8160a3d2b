-- A view: a row-for-row projection of the largest raw table, read by one model that
-- aggregates all of it in every build (decision 161).
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('web', 'web_ga4_events') }}

),

final as (

    select
        -- GA4 has no event id: the record hash is the event's identity.
        _record_hash as event_id,
        event_name,
        event_date as event_date_key,
        event_timestamp as event_timestamp_micros,
        {{ epoch_micros_to_timestamp('event_timestamp') }} as event_at,
        user_pseudo_id,
        -- Consent-mode exports carry cookieless events without user_pseudo_id: nothing ties
        -- one to another, so each is a session of its own (docs/sources.md).
        case
            when user_pseudo_id is null then {{ dbt.concat(["'cookieless|'", "_record_hash"]) }}
            else {{ dbt.concat(["user_pseudo_id", "'|'",
                                "coalesce(" ~ dbt.cast("ga_session_id", dbt.type_string())
                                ~ ", 'no-session')"]) }}
        end as session_id,
        user_pseudo_id is not null as has_analytics_consent,
        ga_session_id,
        page_path,
        lead_id,
        form_name,
        utm_source,
        utm_medium,
        utm_campaign,
        traffic_source_source as first_touch_source,
        traffic_source_medium as first_touch_medium,
        traffic_source_name as first_touch_campaign,
        device_category,
        geo_region,
        _loaded_at as loaded_at

    from source

)

select * from final
