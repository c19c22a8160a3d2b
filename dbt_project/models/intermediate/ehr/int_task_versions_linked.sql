-- One row per delivered Task version, tied to the referral it is about: its focus (or
-- basedOn) by literal reference, or by the referral number its focus identifier carries (an
-- e-RS UBRN). Flags come from seeds/task_statuses.csv.
with

versions as (

    select * from {{ ref('stg_ehr__task_versions') }}

),

referral_numbers as (

    select * from {{ ref('int_referral_numbers') }}

),

statuses as (

    select * from {{ ref('task_statuses') }}

),

final as (

    select
        versions.*,
        coalesce(versions.focus_service_request_id, referral_numbers.referral_id)
            as referral_id,
        coalesce(statuses.status_name, 'Unknown') as status_name,
        -- A draft, entered-in-error or unknown status is no state of the referral.
        coalesce(statuses.is_counted, false) as is_workflow_status,
        coalesce(statuses.is_open, false) as is_open,
        coalesce(statuses.is_terminal, false) as is_terminal,
        coalesce(statuses.is_closed_without_visit, false) as is_closed_without_visit,
        coalesce(statuses.is_performed, false) as is_performed,
        statuses.closed_leakage_reason
    from versions
    left join referral_numbers
        -- The kept side's condition in the key: a hash join, not a nested loop (decision 150).
        on case
            when versions.focus_service_request_id is null
                then versions.focus_referral_number
        end = referral_numbers.referral_number
    left join statuses
        on versions.status_code = statuses.status_code

)

select * from final
