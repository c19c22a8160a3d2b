-- One row per ServiceRequest the EHR delivered (latest version): what kind of request it is
-- under the referral definition, whether it counts as a referral and why not, and its
-- workflow status (from its Task where one carries it). The referral marts hold only the rows
-- with is_counted_referral; this is where lab and imaging orders, drafts, advice and guidance
-- and social-care referrals are counted.
with

service_requests as (

    select * from {{ ref('int_service_requests_resolved') }}

),

kinds as (

    select * from {{ ref('service_request_kinds') }}

),

final as (

    select
        service_requests.referral_id as service_request_id,
        service_requests.referral_number,
        service_requests.referral_number_system,
        service_requests.service_request_kind,
        coalesce(kinds.service_request_kind_name, 'Unknown') as service_request_kind_name,
        service_requests.is_counted_referral,
        service_requests.exclusion_reason,
        service_requests.service_request_status_code as service_request_status,
        service_requests.status_code as workflow_status,
        service_requests.status_source as workflow_status_source,
        service_requests.task_id,
        service_requests.business_status_code,
        service_requests.intent,
        service_requests.category_code,
        service_requests.specialty_code,
        service_requests.requester_type,
        service_requests.referring_practitioner_id,
        service_requests.receiving_organization_id,
        service_requests.referred_at as authored_at,
        service_requests.referred_at_source as authored_at_source
    from service_requests
    left join kinds
        on service_requests.service_request_kind = kinds.service_request_kind

)

select * from final
