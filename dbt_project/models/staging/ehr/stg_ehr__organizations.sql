with

latest as (

    {{ latest_version(source('ehr', 'ehr_organization'), 'organization_id', 'last_updated_at') }}

),

final as (

    select
        organization_id,
        name as organization_name,
        npi,
        identifier_key,
        network_status,
        coalesce(network_status = 'in-network', false) as is_in_network,
        type_code,
        part_of_organization_id,
        city,
        state,
        postal_code

    from latest

)

select * from final
