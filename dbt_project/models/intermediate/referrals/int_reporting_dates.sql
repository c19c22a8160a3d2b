-- One row: the moment the warehouse reports "as of". By default the latest thing that
-- happened in the data (a batch warehouse is as fresh as its last delivery, and results stay
-- reproducible): a referral sent, a scheduling message, a finished visit. A planned or
-- booked visit has not happened, and counting its end moved the moment into the future
-- (referrals declared leaked before their window passed). var('as_of_date') overrides it.
with

referrals as (

    select max(referred_at) as latest_at from {{ ref('stg_ehr__service_requests') }}

),

appointment_events as (

    select max(event_at) as latest_at from {{ ref('stg_scheduling__appointment_events') }}

),

encounters as (

    select max(ended_at) as latest_at from {{ ref('stg_ehr__encounters') }}
    where status_code = 'finished'

),

final as (

    select
        {% if var('as_of_date', none) %}
        cast('{{ var("as_of_date") }}' as {{ dbt.type_timestamp() }}) as as_of_at
        {% else %}
        greatest(
            coalesce(referrals.latest_at, appointment_events.latest_at, encounters.latest_at),
            coalesce(appointment_events.latest_at, referrals.latest_at, encounters.latest_at),
            coalesce(encounters.latest_at, referrals.latest_at, appointment_events.latest_at)
        ) as as_of_at
        {% endif %}
    from referrals
    cross join appointment_events
    cross join encounters

)

select * from final
