-- One row per practitioner role with its practitioner, organization and location resolved.
with

roles as (

    select * from {{ ref('stg_ehr__practitioner_roles') }}

),

targets as (

    select * from {{ ref('int_fhir_reference_targets') }}
    where is_unambiguous

),

final as (

    select
        roles.practitioner_role_id,
        practitioners.resource_id as practitioner_id,
        organizations.resource_id as organization_id,
        locations.resource_id as location_id,
        roles.specialty_code,
        roles.is_active
    from roles
    left join targets as practitioners
        on roles.practitioner_reference = practitioners.reference_key
        and practitioners.resource_type = 'Practitioner'
    left join targets as organizations
        on roles.organization_reference = organizations.reference_key
        and organizations.resource_type = 'Organization'
    left join targets as locations
        on roles.location_reference = locations.reference_key
        and locations.resource_type = 'Location'

)

select * from final
