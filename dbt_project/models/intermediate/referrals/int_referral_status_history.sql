-- One row per status a referral was in and when (valid from one delivered version to the
-- next), from both homes of a referral's state: its ServiceRequest's versions and the
-- versions of the Tasks about it. `is_closed_without_visit` says the status ended the
-- referral with no visit (revoked; a Task rejected, cancelled or failed): what the as-of
-- funnel counts as withdrawn at each point; `is_performed` (completed) what it counts as
-- attended where no visit is recorded.
with

service_request_history as (

    select * from {{ ref('stg_ehr__service_request_status_history') }}

),

task_versions as (

    select * from {{ ref('int_task_versions_linked') }}
    where referral_id is not null and is_workflow_status and status_at is not null

),

statuses as (

    select * from {{ ref('service_request_statuses') }}

),

task_history as (

    select
        {{ dbt.concat(["'task|'", "task_version_id"]) }} as status_version_id,
        referral_id,
        'task' as status_source,
        status_code,
        is_closed_without_visit,
        is_performed,
        status_at as valid_from_at,
        lead(status_at) over (partition by task_id order by status_at) as valid_to_at
    from task_versions

),

final as (

    select
        service_request_history.status_version_id,
        service_request_history.referral_id,
        'service_request' as status_source,
        service_request_history.status_code,
        coalesce(statuses.is_closed_without_visit, false)
        and service_request_history.status_code <> 'entered-in-error'
            as is_closed_without_visit,
        coalesce(statuses.is_performed, false) as is_performed,
        service_request_history.valid_from_at,
        service_request_history.valid_to_at
    from service_request_history
    left join statuses
        on service_request_history.status_code = statuses.status_code
    union all
    select * from task_history

)

select * from final
