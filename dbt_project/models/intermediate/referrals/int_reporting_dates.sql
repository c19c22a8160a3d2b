-- One row: the moment the warehouse reports "as of". By default the latest thing that
-- happened in the data (a batch warehouse is as fresh as its last delivery, and results stay
-- reproducible): a referral sent, a scheduling message, a finished visit, each at or before
-- the extract time (the latest load of those feeds). A planned or booked visit has not
-- happened, and a message stamped after its own delivery comes from a wrong clock: counting
-- either moved the moment into the future (referrals declared leaked before their window
-- passed). var('as_of_date') overrides it.
{#- as_of_date (a var) fixes the as-of moment; else it is the latest event. #}
{%- if var('as_of_date', none) -%}
{%- set as_of_at = "cast('" ~ var('as_of_date') ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
{%- else -%}
{%- set as_of_at = 'latest_at' -%}
{%- endif %}
with

extract_time as (

    select max(loaded_at) as extracted_at
    from (
        select max(loaded_at) as loaded_at from {{ ref('stg_ehr__service_requests') }}
        union all
        select max(loaded_at) as loaded_at from {{ ref('stg_ehr__encounters') }}
        union all
        select max(loaded_at) as loaded_at from {{ ref('stg_scheduling__appointment_events') }}
    ) as loads

),

happened as (

    select referred_at as happened_at from {{ ref('int_service_requests_resolved') }}
    where is_counted_referral
    union all
    select event_at as happened_at from {{ ref('stg_scheduling__appointment_events') }}
    union all
    select ended_at as happened_at from {{ ref('stg_ehr__encounters') }}
    where status_code = 'finished'

),

latest as (

    select max(happened.happened_at) as latest_at
    from happened
    cross join extract_time
    where happened.happened_at <= extract_time.extracted_at

),

final as (

    select {{ as_of_at }} as as_of_at
    from latest

)

select * from final
