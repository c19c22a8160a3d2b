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
        national_identifier_key,
        -- The site's own extension, one optional input of int_organization_networks.
        network_status,
        type_code,
        part_of_organization_id,
        city,
        state,
        postal_code

    from latest

)

select * from final
