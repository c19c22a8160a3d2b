with

latest as (

    {{ latest_version(source('crm', 'crm_campaign_spend'), 'campaign_id, spend_date',
                      'last_modified_at') }}

),

final as (

    select
        {{ dbt.concat(["campaign_id", "'|'", dbt.cast("spend_date", dbt.type_string())]) }}
            as campaign_spend_id,
        campaign_id,
        spend_date,
        spend_amount,
        currency,
        impressions,
        clicks

    from latest

)

select * from final
