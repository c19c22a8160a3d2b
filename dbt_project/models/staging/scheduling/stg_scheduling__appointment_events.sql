{{
    config(
        materialized='incremental',
        unique_key='appointment_event_id',
        on_schema_change='append_new_columns',
        **incremental_strategy_config()
    )
}}

with

source as (

    select * from {{ source('scheduling', 'scheduling_siu_messages') }}
    {% if is_incremental() %}
    -- Late files: anything loaded within the lookback window is looked at again.
    where {{ loaded_on_or_after_lookback('_loaded_at') }}
    {% endif %}

),

trigger_events as (

    select * from {{ ref('siu_trigger_events') }}

),

final as (

    select
        -- The message's content is its identity: senders reuse MSH-10 control ids (across
        -- trigger events, after a restart), and byte-identical re-sends never reach raw.
        source._record_hash as appointment_event_id,
        source.message_control_id,
        source.sending_application,
        source.sending_facility,
        source.filler_appointment_id as appointment_id,
        source.referral_id as referral_number,
        source.trigger_event,
        coalesce(trigger_events.event_type, 'unknown') as event_type,
        -- A message that shows a live booking (seed siu_trigger_events.is_booking).
        coalesce(trigger_events.is_booking, false) as is_booking,
        cast(source.message_at as {{ dbt.type_timestamp() }}) as event_at,
        cast(source.slot_start_at as {{ dbt.type_timestamp() }}) as slot_start_at,
        cast(source.slot_end_at as {{ dbt.type_timestamp() }}) as slot_end_at,
        source.duration as duration_minutes,
        source.filler_status_code,
        source.patient_mrn_key,
        source.provider_npi,
        source.location_code,
        source.service_code,
        source._loaded_at as loaded_at,
        cast(source._loaded_at as date) as loaded_date

    from source
    left join trigger_events
        on source.trigger_event = trigger_events.trigger_event

)

select * from final
