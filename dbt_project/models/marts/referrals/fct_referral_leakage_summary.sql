-- Leakage by referral month and referrer, over every referral (leaked or not): referred,
-- leaked and pending counts, one count per reason, so every rate rolls up by summing counts.
-- Self-referrals have no referrer: their rows carry a null referring_practitioner_id.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

leakage as (

    select * from {{ ref('fct_referral_leakage') }}

),

months as (

    select
        referral_month,
        is_month_closed
    from {{ ref('int_referral_months') }}

),

referral_values as (

    select
        referrals.referral_month,
        referrals.referring_practitioner_id,
        referrals.referring_provider_npi,
        referrals.is_leaked,
        referrals.is_pending,
        referrals.leakage_reason,
        leakage.estimated_lost_revenue_amount
    from referrals
    left join leakage
        on referrals.referral_id = leakage.referral_id

),

aggregated as (

    select
        referral_month,
        referring_practitioner_id,
        max(referring_provider_npi) as referring_provider_npi,
        cast(count(*) as {{ dbt.type_bigint() }}) as referred_count,
        {{ count_if('is_leaked') }} as leaked_count,
        {{ count_if('is_pending') }} as pending_count,
        {% for reason in leakage_reason_codes() %}
        {{ count_if("leakage_reason = '" ~ reason ~ "'") }} as {{ reason }}_count,
        {% endfor %}
        -- Zero where nothing leaked; null where a leaked referral could not be priced.
        case
            when {{ count_if('is_leaked') }} = 0 then 0
            when {{ count_if('is_leaked and estimated_lost_revenue_amount is null') }} > 0
                then null
            else sum(estimated_lost_revenue_amount)
        end as estimated_lost_revenue_amount
    from referral_values
    group by referral_month, referring_practitioner_id

),

final as (

    select
        {{ dbt.concat(["coalesce(cast(aggregated.referral_month as " ~ dbt.type_string()
                       ~ "), 'undated')", "'|'",
                       "coalesce(aggregated.referring_practitioner_id, '')"]) }}
            as leakage_summary_id,
        aggregated.referral_month,
        aggregated.referring_practitioner_id,
        aggregated.referring_provider_npi,
        coalesce(months.is_month_closed, false) as is_window_closed,
        aggregated.referred_count,
        aggregated.leaked_count,
        aggregated.pending_count,
        {% for reason in leakage_reason_codes() %}
        aggregated.{{ reason }}_count,
        {% endfor %}
        {{ safe_divide('aggregated.leaked_count', 'aggregated.referred_count') }}
            as leakage_rate,
        cast(aggregated.estimated_lost_revenue_amount as {{ type_money() }})
            as estimated_lost_revenue_amount
    from aggregated
    left join months
        on aggregated.referral_month = months.referral_month

)

select * from final
