with

latest as (

    {{ latest_version(source('crm', 'crm_campaigns'), 'campaign_id', 'last_modified_at') }}

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        utm_source,
        utm_medium,
        utm_campaign,
        start_date,
        end_date,
        budget_amount,
        currency,
        target_specialty_code,
        status as status_code

    from latest

)

select * from final
