-- One row per ServiceRequest (int_service_requests_classified's columns) with its workflow
-- status, from its Task where one is the state of the referral (360X, BaRS, SDOH-CC and
-- Da Vinci keep it there), else its own status. Where the two disagree (docs/sources.md,
-- "Task and ServiceRequest"):
-- 1. a draft or entered-in-error ServiceRequest stays what it is (it was never sent);
-- 2. an ended status (revoked, completed; rejected, cancelled, failed, completed) beats a
--    status still open, whichever resource carries it;
-- 3. two ended statuses: the one stated last (ServiceRequest meta.lastUpdated against the
--    Task's lastModified), the Task on a tie;
-- 4. both open: the Task (accepted, in progress, on hold say more than active).
with

service_requests as (

    select * from {{ ref('int_service_requests_classified') }}

),

task_versions as (

    select * from {{ ref('int_task_versions_linked') }}

),

-- Each Task's latest version; a Task whose latest state is draft or entered in error is no
-- state of the referral (not a fall-back to an earlier version).
latest_task_versions as (

    select *
    from (
        select
            *,
            row_number() over (
                partition by task_id
                order by last_updated_at desc, status_at desc, task_version_id desc
            ) as version_rank
        from task_versions
    ) as ranked
    where version_rank = 1

),

governing_tasks as (

    select *
    from (
        select
            *,
            min(authored_at) over (partition by referral_id) as first_task_authored_at,
            row_number() over (
                partition by referral_id
                order by status_at desc, task_id desc
            ) as task_rank
        from latest_task_versions
        where referral_id is not null and is_workflow_status
    ) as ranked
    where task_rank = 1

),

compared as (

    select
        service_requests.referral_id,
        service_requests.status_code as service_request_status_code,
        service_requests.service_request_status_name,
        governing_tasks.task_id,
        governing_tasks.status_code as task_status_code,
        governing_tasks.status_name as task_status_name,
        governing_tasks.business_status_code,
        governing_tasks.status_reason_code,
        governing_tasks.status_at as task_status_at,
        governing_tasks.owner_reference,
        governing_tasks.requester_reference,
        governing_tasks.first_task_authored_at,
        governing_tasks.is_open as task_is_open,
        governing_tasks.is_terminal as task_is_terminal,
        governing_tasks.is_closed_without_visit as task_is_closed_without_visit,
        governing_tasks.is_performed as task_is_performed,
        governing_tasks.closed_leakage_reason as task_closed_leakage_reason,
        service_requests.service_request_is_counted,
        service_requests.service_request_is_open,
        service_requests.service_request_is_terminal,
        service_requests.service_request_is_closed_without_visit,
        service_requests.service_request_is_performed,
        service_requests.service_request_closed_leakage_reason,
        case
            when governing_tasks.task_id is null then 'service_request'
            when not service_requests.service_request_is_counted then 'service_request'
            when service_requests.service_request_is_terminal and not governing_tasks.is_terminal
                then 'service_request'
            when governing_tasks.is_terminal and not service_requests.service_request_is_terminal
                then 'task'
            when governing_tasks.is_terminal
                and service_requests.last_updated_at > governing_tasks.status_at
                then 'service_request'
            else 'task'
        end as status_source
    from service_requests
    left join governing_tasks
        on service_requests.referral_id = governing_tasks.referral_id

),

final as (

    select
        service_requests.*,
        compared.status_source,
        case compared.status_source
            when 'task' then compared.task_status_code
            else compared.service_request_status_code
        end as workflow_status_code,
        case compared.status_source
            when 'task' then compared.task_status_name
            else compared.service_request_status_name
        end as status_name,
        case compared.status_source
            when 'task' then compared.task_is_open else compared.service_request_is_open
        end as is_open_status,
        case compared.status_source
            when 'task' then compared.task_is_closed_without_visit
            else compared.service_request_is_closed_without_visit
        end as is_closed_without_visit,
        case compared.status_source
            when 'task' then compared.task_is_performed
            else compared.service_request_is_performed
        end as is_performed,
        case compared.status_source
            when 'task' then compared.task_closed_leakage_reason
            else compared.service_request_closed_leakage_reason
        end as closed_leakage_reason,
        compared.task_id,
        compared.task_status_code,
        compared.business_status_code,
        compared.status_reason_code,
        compared.task_status_at,
        compared.owner_reference as task_owner_reference,
        compared.requester_reference as task_requester_reference,
        compared.first_task_authored_at
    from service_requests
    inner join compared
        on service_requests.referral_id = compared.referral_id

)

select * from final
