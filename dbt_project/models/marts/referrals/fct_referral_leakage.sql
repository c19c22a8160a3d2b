-- One row per leaked referral, with its reason and estimated lost revenue: the average revenue
-- of an attended new-patient visit (the first visit of a referral) in the same specialty,
-- null when the specialty has no attended visit to average.
with

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

specialty_visit_values as (

    select
        specialty_code,
        avg(first_visit_revenue_amount) as average_new_patient_revenue_amount
    from referrals
    where has_attended
    group by specialty_code

),

final as (

    select
        referrals.referral_id,
        referrals.referral_number,
        referrals.leakage_reason,
        referrals.leakage_reason_name,
        referrals.direction,
        referrals.direction_name,
        referrals.referral_month,
        referrals.referred_at,
        referrals.is_window_closed,
        referrals.referring_practitioner_id,
        referrals.referring_provider_npi,
        referrals.receiving_organization_id,
        referrals.receiving_organization_name,
        referrals.specialty_code,
        referrals.specialty_name,
        referrals.source_channel,
        referrals.source_channel_name,
        referrals.payer_class,
        referrals.last_appointment_outcome,
        cast(specialty_visit_values.average_new_patient_revenue_amount as {{ type_money() }})
            as estimated_lost_revenue_amount
    from referrals
    left join specialty_visit_values
        on referrals.specialty_code = specialty_visit_values.specialty_code
    where referrals.is_leaked

)

select * from final
