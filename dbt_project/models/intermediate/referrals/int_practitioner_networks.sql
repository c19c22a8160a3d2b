-- One row per practitioner with a role: the organization they work for, and whether any of
-- their roles is with a network organization (which makes them an in-network clinician);
-- outside when a role's organization is known to be outside, else unknown.
with

roles as (

    select * from {{ ref('int_practitioner_roles_resolved') }}
    where practitioner_id is not null

),

organizations as (

    select * from {{ ref('int_organization_networks') }}

),

final as (

    select
        roles.practitioner_id,
        min(roles.organization_id) as organization_id,
        min(organizations.organization_name) as organization_name,
        max(case when organizations.is_in_network then 1 else 0 end) = 1 as is_in_network,
        case
            when max(case when organizations.is_in_network then 1 else 0 end) = 1
                then 'in_network'
            when max(
                    case when organizations.network_status = 'out_of_network' then 1
                        else 0
                    end
                ) = 1 then 'out_of_network'
            else 'unknown'
        end as network_status
    from roles
    inner join organizations
        on roles.organization_id = organizations.organization_id
    group by roles.practitioner_id

)

select * from final
