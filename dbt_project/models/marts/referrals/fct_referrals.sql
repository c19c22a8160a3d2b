with

referrals as (

    select * from {{ ref('int_referrals_classified') }}

),

months as (

    select
        referral_month,
        is_month_closed
    from {{ ref('int_referral_months') }}

),

dated as (

    select
        referrals.*,
        coalesce(months.is_month_closed, false) as is_month_closed
    from referrals
    left join months
        on referrals.referral_month = months.referral_month

),

final as (

    select
        referral_id,
        referral_number,
        status_code as referral_status,
        status_name as referral_status_name,
        status_source as referral_status_source,
        service_request_status_code as service_request_status,
        task_status_code as task_status,
        business_status_code as task_business_status,
        priority,
        direction,
        direction_name,
        source_channel,
        source_channel_name,
        requester_type,
        referring_practitioner_id,
        referring_provider_npi,
        referring_organization_id,
        receiving_practitioner_id,
        receiving_organization_id,
        receiving_organization_name,
        receiving_healthcare_service_id,
        location_id,
        location_name,
        specialty_code,
        specialty_name,
        payer_class,
        payer_class_name,
        referred_at,
        referred_at_source,
        referral_month,
        is_window_closed,
        is_month_closed,
        first_scheduled_at as scheduled_at,
        first_visit_at,
        loop_closed_at,
        cast(days_to_schedule as {{ dbt.type_bigint() }}) as days_to_schedule,
        cast(days_to_first_visit as {{ dbt.type_bigint() }}) as days_to_first_visit,
        cast(days_to_loop_close as {{ dbt.type_bigint() }}) as days_to_loop_close,
        cast(appointment_count as {{ dbt.type_bigint() }}) as appointment_count,
        cast(reschedule_count as {{ dbt.type_bigint() }}) as reschedule_count,
        cast(cancelled_appointment_count as {{ dbt.type_bigint() }}) as cancelled_appointment_count,
        cast(no_show_count as {{ dbt.type_bigint() }}) as no_show_count,
        funnel_stage,
        funnel_stage_name,
        has_scheduled as is_scheduled,
        has_attended as is_attended,
        has_loop_closed as is_loop_closed,
        is_leaked,
        leakage_reason,
        leakage_reason_name,
        is_pending,
        cast(visit_count as {{ dbt.type_bigint() }}) as visit_count,
        cast(visit_revenue_amount as {{ type_money() }}) as visit_revenue_amount
    from dated

)

select * from final
