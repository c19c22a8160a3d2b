with

leakage as (

    select * from {{ ref('fct_referral_leakage') }}

),

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

referred as (

    select
        referral_month,
        coalesce(referring_practitioner_id, 'none') as referring_practitioner_id,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count
    from referrals
    group by referral_month, coalesce(referring_practitioner_id, 'none')

),

leaked as (

    select
        referral_month,
        coalesce(referring_practitioner_id, 'none') as referring_practitioner_id,
        leakage_reason,
        max(referring_provider_npi) as referring_provider_npi,
        cast(count(*) as {{ dbt.type_bigint() }}) as leaked_count,
        sum(estimated_lost_revenue_amount) as estimated_lost_revenue_amount
    from leakage
    group by referral_month, coalesce(referring_practitioner_id, 'none'), leakage_reason

),

final as (

    select
        {{ dbt.concat(["cast(leaked.referral_month as " ~ dbt.type_string() ~ ")", "'|'",
                       "leaked.referring_practitioner_id", "'|'", "leaked.leakage_reason"]) }}
            as leakage_summary_id,
        leaked.referral_month,
        leaked.referring_practitioner_id,
        leaked.referring_provider_npi,
        leaked.leakage_reason,
        leaked.leaked_count,
        referred.referred_count,
        {{ safe_divide('leaked.leaked_count', 'referred.referred_count') }} as leakage_rate,
        cast(leaked.estimated_lost_revenue_amount as {{ type_money() }})
            as estimated_lost_revenue_amount
    from leaked
    inner join referred
        on leaked.referral_month = referred.referral_month
        and leaked.referring_practitioner_id = referred.referring_practitioner_id

)

select * from final
