-- Attributed results are dated by the lead's month; spend and sessions by their own month.
with

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

spend as (

    select * from {{ ref('stg_crm__campaign_spend') }}

),

sessions as (

    select * from {{ ref('int_web_sessions_aggregated') }}
    where utm_campaign is not null

),

credited_outcomes as (

    select * from {{ ref('int_campaign_outcomes_credited') }}

),

models as (

    {{ attribution_models() }}

),

monthly_spend as (

    select
        campaign_id,
        cast({{ dbt.date_trunc('month', 'spend_date') }} as date) as performance_month,
        sum(spend_amount) as spend_amount,
        sum(clicks) as click_count
    from spend
    group by campaign_id, cast({{ dbt.date_trunc('month', 'spend_date') }} as date)

),

monthly_sessions as (

    select
        campaigns.campaign_id,
        sessions.session_month as performance_month,
        count(*) as session_count
    from sessions
    inner join campaigns
        on sessions.utm_campaign = campaigns.utm_campaign
    group by campaigns.campaign_id, sessions.session_month

),

campaign_months as (

    select
        campaign_id,
        performance_month
    from monthly_spend
    union
    select
        campaign_id,
        performance_month
    from monthly_sessions
    union
    select
        campaign_id,
        performance_month
    from credited_outcomes

),

final as (

    -- A month without spend rows spent 0: costs are 0 where there are leads, and null
    -- only where the denominator is 0 (docs/metrics.md, "Costs and rates").
    select
        {{ dbt.concat(["campaign_months.campaign_id", "'|'",
                       "cast(campaign_months.performance_month as " ~ dbt.type_string() ~ ")",
                       "'|'", "models.attribution_model"]) }} as campaign_performance_id,
        campaign_months.campaign_id,
        campaigns.campaign_name,
        campaigns.channel,
        campaigns.utm_campaign,
        campaign_months.performance_month,
        models.attribution_model,
        cast(coalesce(monthly_spend.spend_amount, 0) as {{ type_money() }}) as spend_amount,
        cast(coalesce(monthly_spend.click_count, 0) as {{ dbt.type_bigint() }}) as click_count,
        cast(coalesce(monthly_sessions.session_count, 0) as {{ dbt.type_bigint() }})
            as session_count,
        cast(coalesce(credited_outcomes.attributed_lead_count, 0) as {{ type_double() }})
            as attributed_lead_count,
        cast(coalesce(credited_outcomes.attributed_referral_count, 0) as {{ type_double() }})
            as attributed_referral_count,
        cast(coalesce(credited_outcomes.attributed_attended_count, 0) as {{ type_double() }})
            as attributed_attended_count,
        cast(coalesce(credited_outcomes.attributed_revenue_amount, 0) as {{ type_money() }})
            as attributed_revenue_amount,
        {{ safe_divide('coalesce(monthly_spend.spend_amount, 0)',
                       'coalesce(credited_outcomes.attributed_lead_count, 0)') }}
            as cost_per_lead_amount,
        {{ safe_divide('coalesce(monthly_spend.spend_amount, 0)',
                       'coalesce(credited_outcomes.attributed_referral_count, 0)') }}
            as cost_per_referral_amount,
        {{ safe_divide('coalesce(monthly_spend.spend_amount, 0)',
                       'coalesce(credited_outcomes.attributed_attended_count, 0)') }}
            as cost_per_attended_patient_amount,
        {{ safe_divide('coalesce(credited_outcomes.attributed_revenue_amount, 0)'
                       ~ ' - coalesce(monthly_spend.spend_amount, 0)',
                       'coalesce(monthly_spend.spend_amount, 0)') }} as roi
    from campaign_months
    cross join models
    inner join campaigns
        on campaign_months.campaign_id = campaigns.campaign_id
    left join monthly_spend
        on campaign_months.campaign_id = monthly_spend.campaign_id
        and campaign_months.performance_month = monthly_spend.performance_month
    left join monthly_sessions
        on campaign_months.campaign_id = monthly_sessions.campaign_id
        and campaign_months.performance_month = monthly_sessions.performance_month
    left join credited_outcomes
        on campaign_months.campaign_id = credited_outcomes.campaign_id
        and campaign_months.performance_month = credited_outcomes.performance_month
        and models.attribution_model = credited_outcomes.attribution_model

)

select * from final
