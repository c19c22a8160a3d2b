-- One row per lead, campaign touch and attribution model, with the credit that touch earns.
-- Touches are the lead's web sessions that came in on a campaign's UTM tag within
-- var('attribution_lookback_days') days before the lead. First touch gives all credit to
-- the earliest, last touch to the latest, linear splits it evenly.
with

leads as (

    select * from {{ ref('stg_crm__intake_leads') }}
    where ga_client_id is not null

),

sessions as (

    select * from {{ ref('int_web_sessions_aggregated') }}
    where utm_campaign is not null

),

campaigns as (

    select * from {{ ref('stg_crm__campaigns') }}

),

touches as (

    select
        leads.lead_id,
        leads.created_at as lead_created_at,
        leads.converted_referral_number,
        campaigns.campaign_id,
        sessions.session_id,
        sessions.session_started_at,
        row_number() over (
            partition by leads.lead_id
            order by sessions.session_started_at, sessions.session_id
        ) as touch_number,
        count(*) over (partition by leads.lead_id) as touch_count
    from leads
    inner join sessions
        on leads.ga_client_id = sessions.user_pseudo_id
        and leads.created_at >= sessions.session_started_at
        and sessions.session_started_at
        >= {{ dbt.dateadd('day', -var('attribution_lookback_days'), 'leads.created_at') }}
    inner join campaigns
        on sessions.utm_campaign = campaigns.utm_campaign

),

models as (

    {{ attribution_models() }}

),

final as (

    select
        {{ dbt.concat(["touches.lead_id", "'|'", "touches.session_id", "'|'",
                       "models.attribution_model"]) }} as lead_touch_credit_id,
        touches.lead_id,
        touches.lead_created_at,
        cast({{ dbt.date_trunc('month', 'touches.lead_created_at') }} as date) as lead_month,
        touches.converted_referral_number,
        touches.campaign_id,
        touches.session_id,
        touches.session_started_at,
        touches.touch_number,
        touches.touch_count,
        models.attribution_model,
        -- A double on every engine: Spark reads 1.0 as an exact decimal, and 1.0 / 3 then
        -- differs from DuckDB's and Postgres's in type and value (decision 143).
        cast(case
            when models.attribution_model = 'first_touch'
                then case when touches.touch_number = 1 then 1 else 0 end
            when models.attribution_model = 'last_touch'
                then case when touches.touch_number = touches.touch_count then 1 else 0 end
            else cast(1 as {{ type_double() }}) / touches.touch_count
        end as {{ type_double() }}) as credit
    from touches
    cross join models

)

select * from final
