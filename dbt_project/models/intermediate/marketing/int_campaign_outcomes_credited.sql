-- One row per campaign, lead month and attribution model: the leads, referrals, attended
-- patients and revenue the model credits to the campaign (int_lead_touches_attributed), the
-- referrals found by the number a converted lead carries.
with

credits as (

    select * from {{ ref('int_lead_touches_attributed') }}

),

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

final as (

    select
        {{ dbt.concat(["credits.campaign_id", "'|'",
                       "cast(credits.lead_month as " ~ dbt.type_string() ~ ")",
                       "'|'", "credits.attribution_model"]) }} as campaign_outcome_id,
        credits.campaign_id,
        credits.lead_month as performance_month,
        credits.attribution_model,
        sum(credits.credit) as attributed_lead_count,
        sum(case when referrals.referral_id is not null then credits.credit else 0 end)
            as attributed_referral_count,
        sum(case when referrals.has_attended then credits.credit else 0 end)
            as attributed_attended_count,
        sum(credits.credit * coalesce(referrals.visit_revenue_amount, 0))
            as attributed_revenue_amount
    from credits
    left join referrals
        on credits.converted_referral_number = referrals.referral_number
    group by credits.campaign_id, credits.lead_month, credits.attribution_model

)

select * from final
