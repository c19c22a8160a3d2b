with

latest as (

    {{ latest_version(source('crm', 'crm_liaison_activities'), 'activity_id',
                      'last_modified_at') }}

),

final as (

    select
        activity_id,
        activity_date,
        activity_type,
        liaison_owner as liaison_name,
        practice_id,
        provider_npi,
        duration_minutes,
        status as status_code,
        coalesce(status = 'completed', false) as is_completed

    from latest

)

select * from final
