with

latest as (

    {{ latest_version(source('crm', 'crm_liaison_activities'), 'activity_id',
                      'last_modified_at') }}

),

statuses as (

    select * from {{ ref('liaison_activity_statuses') }}

),

final as (

    select
        latest.activity_id,
        latest.activity_date,
        latest.activity_type,
        latest.liaison_owner as liaison_name,
        latest.practice_id,
        latest.provider_npi,
        latest.duration_minutes,
        latest.status as status_code,
        -- seeds/liaison_activity_statuses.csv says which status is a completed activity.
        coalesce(statuses.is_completed, false) as is_completed

    from latest
    left join statuses
        on latest.status = statuses.status_code

)

select * from final
