-- One row per reference key: the practitioner, role, organization, healthcare service or
-- location it names, and whether it names exactly one (an identifier two resources share
-- resolves to neither). Practitioners resolve to one id per national id (NPI, SDS id).
with

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

practitioner_roles as (

    select * from {{ ref('stg_ehr__practitioner_roles') }}

),

organizations as (

    select * from {{ ref('stg_ehr__organizations') }}

),

locations as (

    select * from {{ ref('stg_ehr__locations') }}

),

healthcare_services as (

    select * from {{ ref('stg_ehr__healthcare_services') }}

),

keys as (

    {{ reference_keys('practitioners', 'Practitioner', 'practitioner_id', 'npi',
                      'national_identifier_key', 'person_practitioner_id') }}
    union all
    {{ reference_keys('practitioner_roles', 'PractitionerRole', 'practitioner_role_id') }}
    union all
    {{ reference_keys('organizations', 'Organization', 'organization_id', 'npi',
                      'national_identifier_key') }}
    union all
    {{ reference_keys('healthcare_services', 'HealthcareService', 'healthcare_service_id') }}
    union all
    {{ reference_keys('locations', 'Location', 'location_id') }}

),

distinct_keys as (

    select distinct
        reference_key,
        resource_type,
        resource_id
    from keys

),

final as (

    select
        reference_key,
        min(resource_type) as resource_type,
        min(resource_id) as resource_id,
        count(*) = 1 as is_unambiguous
    from distinct_keys
    group by reference_key

)

select * from final
