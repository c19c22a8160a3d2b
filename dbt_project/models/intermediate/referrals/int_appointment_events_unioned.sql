-- One row per appointment event of a referral, from either scheduling source: HL7 SIU
-- messages (tied by the referral number in SCH-26) and FHIR Appointment versions (tied by
-- basedOn, one event per version and referral; statuses mapped by seeds/appointment_statuses).
-- A bulk export delivers an Appointment's current version only, so a booking seen first as
-- fulfilled, no-show or cancelled was booked at `created` (seed
-- appointment_statuses.implies_booking): one booking event then, beside its versions.
-- A FHIR Appointment that describes a booking SIU already reports (the same appointment id,
-- or the same referral and slot start) is left out, so no booking counts twice; so is one
-- whose latest version says entered in error.
with

siu_events as (

    select * from {{ ref('stg_scheduling__appointment_events') }}
    where referral_number is not null

),

appointment_versions as (

    select * from {{ ref('stg_ehr__appointment_versions') }}

),

appointment_statuses as (

    select * from {{ ref('appointment_statuses') }}

),

referral_numbers as (

    select * from {{ ref('int_referral_numbers') }}

),

siu as (

    select
        siu_events.appointment_event_id,
        'siu' as scheduling_source,
        referral_numbers.referral_id,
        siu_events.appointment_id,
        siu_events.event_type,
        siu_events.is_booking,
        siu_events.event_at,
        siu_events.slot_start_at
    from siu_events
    inner join referral_numbers
        on siu_events.referral_number = referral_numbers.referral_number

),

appointment_referrals as (

    select
        appointment_versions.*,
        appointment_versions.based_on_service_request_id as referral_id
    from appointment_versions
    where appointment_versions.based_on_service_request_id is not null
    union all
    select
        appointment_versions.*,
        appointment_versions.second_based_on_service_request_id as referral_id
    from appointment_versions
    where appointment_versions.second_based_on_service_request_id is not null

),

latest_statuses as (

    select
        appointment_id,
        status_code
    from (
        select
            appointment_id,
            status_code,
            row_number() over (
                partition by appointment_id order by last_updated_at desc
            ) as version_rank
        from appointment_versions
    ) as ranked
    where version_rank = 1

),

fhir as (

    select
        {{ dbt.concat(["appointment_referrals.appointment_version_id", "'|'",
                       "appointment_referrals.referral_id"]) }} as appointment_event_id,
        'fhir_appointment' as scheduling_source,
        appointment_referrals.referral_id,
        coalesce(
            appointment_referrals.appointment_identifier,
            appointment_referrals.appointment_id
        ) as appointment_id,
        coalesce(appointment_statuses.event_type, 'unknown') as event_type,
        coalesce(appointment_statuses.is_booking, false) as is_booking,
        coalesce(appointment_referrals.last_updated_at, appointment_referrals.created_at)
            as event_at,
        appointment_referrals.start_at as slot_start_at
    from appointment_referrals
    inner join latest_statuses
        on appointment_referrals.appointment_id = latest_statuses.appointment_id
    left join appointment_statuses
        on appointment_referrals.status_code = appointment_statuses.status_code
    where latest_statuses.status_code <> 'entered-in-error'

),

fhir_bookings as (

    select
        {{ dbt.concat(["appointment_referrals.appointment_id", "'|created|'",
                       "appointment_referrals.referral_id"]) }} as appointment_event_id,
        'fhir_appointment' as scheduling_source,
        appointment_referrals.referral_id,
        coalesce(
            min(appointment_referrals.appointment_identifier),
            appointment_referrals.appointment_id
        ) as appointment_id,
        'booked' as event_type,
        true as is_booking,
        min(appointment_referrals.created_at) as event_at,
        min(appointment_referrals.start_at) as slot_start_at
    from appointment_referrals
    inner join latest_statuses
        on appointment_referrals.appointment_id = latest_statuses.appointment_id
    inner join appointment_statuses
        on appointment_referrals.status_code = appointment_statuses.status_code
    where appointment_statuses.implies_booking
        and appointment_referrals.created_at is not null
        and latest_statuses.status_code <> 'entered-in-error'
    group by appointment_referrals.appointment_id, appointment_referrals.referral_id

),

fhir_events as (

    select * from fhir
    union all
    select * from fhir_bookings

),

described_by_siu as (

    select distinct
        fhir_events.referral_id,
        fhir_events.appointment_id
    from fhir_events
    inner join siu
        on fhir_events.referral_id = siu.referral_id
        and (
            fhir_events.appointment_id = siu.appointment_id
            or fhir_events.slot_start_at = siu.slot_start_at
        )

),

final as (

    select * from siu
    union all
    select fhir_events.*
    from fhir_events
    left join described_by_siu
        on fhir_events.referral_id = described_by_siu.referral_id
        and fhir_events.appointment_id = described_by_siu.appointment_id
    where described_by_siu.referral_id is null

)

select * from final
