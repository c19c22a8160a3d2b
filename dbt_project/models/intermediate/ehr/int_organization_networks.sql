-- One row per organization: whether it is in the network and what decided it. In the
-- network: it, or an organization it is part of (partOf, three levels up), carries an
-- identifier listed in seeds/network_organizations.csv; else the site's network-status
-- extension where a feed carries one (itself or the nearest parent); else, when the seed
-- lists any organization, outside; with no seed rows and no extension, unknown.
with

organizations as (

    select * from {{ ref('stg_ehr__organizations') }}

),

members as (

    select
        {{ dbt.concat(["identifier_system", "'|'", "identifier_value"]) }} as member_key
    from {{ ref('network_organizations') }}

),

member_count as (

    select count(*) as member_count from members

),

ancestors as (

    select
        organization_id,
        organization_id as ancestor_id,
        0 as ancestor_depth
    from organizations
    union all
    select
        organization_id,
        part_of_organization_id as ancestor_id,
        1 as ancestor_depth
    from organizations
    where part_of_organization_id is not null
    union all
    select
        children.organization_id,
        parents.part_of_organization_id as ancestor_id,
        2 as ancestor_depth
    from organizations as children
    inner join organizations as parents
        on children.part_of_organization_id = parents.organization_id
    where parents.part_of_organization_id is not null
    union all
    select
        children.organization_id,
        grandparents.part_of_organization_id as ancestor_id,
        3 as ancestor_depth
    from organizations as children
    inner join organizations as parents
        on children.part_of_organization_id = parents.organization_id
    inner join organizations as grandparents
        on parents.part_of_organization_id = grandparents.organization_id
    where grandparents.part_of_organization_id is not null

),

evidence as (

    select
        ancestors.organization_id,
        max(case when members.member_key is not null then 1 else 0 end) = 1 as is_listed,
        min(case when organizations.network_status in ('in-network', 'out-of-network')
                then ancestors.ancestor_depth
        end) as extension_depth
    from ancestors
    inner join organizations
        on ancestors.ancestor_id = organizations.organization_id
    left join members
        on organizations.national_identifier_key = members.member_key
        or organizations.identifier_key = members.member_key
    group by ancestors.organization_id

),

nearest_extension as (

    select
        evidence.organization_id,
        min(organizations.network_status) as network_status
    from evidence
    inner join ancestors
        on evidence.organization_id = ancestors.organization_id
        and evidence.extension_depth = ancestors.ancestor_depth
    inner join organizations
        on ancestors.ancestor_id = organizations.organization_id
    group by evidence.organization_id

),

final as (

    select
        organizations.organization_id,
        organizations.organization_name,
        organizations.type_code,
        organizations.part_of_organization_id,
        case
            when evidence.is_listed then 'in_network'
            when nearest_extension.network_status = 'in-network' then 'in_network'
            when nearest_extension.network_status = 'out-of-network' then 'out_of_network'
            when member_count.member_count > 0 then 'out_of_network'
            else 'unknown'
        end as network_status,
        case
            when evidence.is_listed then 'network_organizations'
            when nearest_extension.network_status is not null then 'extension'
            when member_count.member_count > 0 then 'not_listed'
            else 'none'
        end as network_status_source,
        (
            coalesce(evidence.is_listed, false)
            or coalesce(nearest_extension.network_status = 'in-network', false)
        ) as is_in_network
    from organizations
    left join evidence
        on organizations.organization_id = evidence.organization_id
    left join nearest_extension
        on organizations.organization_id = nearest_extension.organization_id
    cross join member_count

)

select * from final
