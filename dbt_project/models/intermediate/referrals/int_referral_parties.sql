-- One row per referral (the referral definition's, int_service_requests_classified) with its
-- parties: who sent it, who receives it, on which side of the network each stands, and so the
-- referral's network direction (docs/metrics.md, direction).
with

referrals as (

    select * from {{ ref('int_service_requests_resolved') }}
    -- The referral definition (int_service_requests_classified): referrals only, never a
    -- draft, an order that is no referral, or one entered in error.
    where is_counted_referral

),

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

organizations as (

    select * from {{ ref('int_organization_networks') }}

),

practitioner_networks as (

    select * from {{ ref('int_practitioner_networks') }}

),

-- The sender's side of the network: a self-referral comes from outside; a practitioner is
-- in the network when any of their roles is; else the requesting organization decides.
sender_networks as (

    select
        referrals.referral_id,
        case
            when referrals.requester_type = 'Patient' then 'out_of_network'
            when practitioner_networks.network_status = 'in_network'
                or requesting_organizations.network_status = 'in_network' then 'in_network'
            when practitioner_networks.network_status = 'out_of_network'
                or requesting_organizations.network_status = 'out_of_network'
                then 'out_of_network'
        end as network_status
    from referrals
    left join practitioner_networks
        on referrals.referring_practitioner_id = practitioner_networks.practitioner_id
    left join organizations as requesting_organizations
        on referrals.requester_organization_id = requesting_organizations.organization_id

),

final as (

    select
        referrals.referral_id,
        referrals.referral_number,
        referrals.status_code,
        referrals.status_name,
        referrals.status_source,
        referrals.service_request_status_code,
        referrals.task_status_code,
        referrals.business_status_code,
        -- Closed without a visit (revoked; a Task rejected, cancelled or failed), performed
        -- (completed), still waiting for care: seeds service_request_statuses, task_statuses.
        coalesce(referrals.is_closed_without_visit, false) as is_closed_without_visit,
        coalesce(referrals.is_open_status, false) as is_open_status,
        coalesce(referrals.is_performed, false) as is_performed_status,
        referrals.closed_leakage_reason,
        referrals.priority,
        referrals.referred_at,
        referrals.referred_at_source,
        cast({{ dbt.date_trunc('month', 'referrals.referred_at') }} as date) as referral_month,
        referrals.patient_key,
        referrals.requester_type,
        referrals.referring_practitioner_id,
        practitioners.npi as referring_provider_npi,
        coalesce(referrals.requester_organization_id, requester_network.organization_id)
            as referring_organization_id,
        coalesce(
            requester_network.is_in_network, requester_organizations.is_in_network, false
        ) as is_referrer_in_network,
        referrals.receiving_practitioner_id,
        referrals.receiving_organization_id,
        referrals.receiving_healthcare_service_id,
        receiving_organizations.organization_name as receiving_organization_name,
        coalesce(receiving_organizations.is_in_network, false) as is_receiver_in_network,
        referrals.location_id,
        referrals.specialty_code,
        referrals.coverage_id,
        referrals.referral_source_code,
        -- docs/metrics.md, direction: the sender's side (a Patient is outside) against the
        -- receiver's; a side that cannot be placed makes the direction unknown.
        case
            when sender_network.network_status = 'in_network'
                and receiving_organizations.network_status = 'in_network' then 'internal'
            when sender_network.network_status = 'in_network'
                and receiving_organizations.network_status = 'out_of_network' then 'outbound'
            when sender_network.network_status = 'in_network' then 'unknown'
            when receiving_organizations.network_status = 'in_network' then 'inbound'
            when sender_network.network_status = 'out_of_network'
                and receiving_organizations.network_status is null
                and referrals.receiving_organization_id is null then 'inbound'
            else 'unknown'
        end as direction

    from referrals
    left join practitioners
        on referrals.referring_practitioner_id = practitioners.practitioner_id
    left join practitioner_networks as requester_network
        on referrals.referring_practitioner_id = requester_network.practitioner_id
    left join organizations as requester_organizations
        on referrals.requester_organization_id = requester_organizations.organization_id
    left join sender_networks as sender_network
        on referrals.referral_id = sender_network.referral_id
    left join organizations as receiving_organizations
        on referrals.receiving_organization_id = receiving_organizations.organization_id

)

select * from final
