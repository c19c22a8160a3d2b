-- One row per reference to a practitioner, role, organization, healthcare service or location
-- that names no resource, or more than one, and per patient named by an identifier no Patient
-- carries: counted and reported (a warning test), never a silent NULL.
with

referrals as (

    select * from {{ ref('stg_ehr__service_requests') }}

),

encounters as (

    select * from {{ ref('stg_ehr__encounters') }}

),

roles as (

    select * from {{ ref('stg_ehr__practitioner_roles') }}

),

healthcare_services as (

    select * from {{ ref('stg_ehr__healthcare_services') }}

),

patients as (

    select * from {{ ref('stg_ehr__patients') }}
    where patient_identifier_key is not null

),

targets as (

    select * from {{ ref('int_fhir_reference_targets') }}

),

-- A referral whose subject is an identifier only (an NHS number) that no Patient carries:
-- it keeps the identifier's keyed hash as its patient key (int_service_requests_resolved).
patients_not_found as (

    select
        {{ dbt.concat(["'ServiceRequest/'", "referrals.referral_id",
                       "'|patient_identifier_key'"]) }}
            as unresolved_reference_id,
        'ServiceRequest' as resource_type,
        referrals.referral_id as resource_id,
        'patient_identifier_key' as reference_column,
        referrals.patient_identifier_key as reference_key,
        'identifier_without_patient' as problem
    from referrals
    left join patients
        on referrals.patient_identifier_key = patients.patient_identifier_key
    where referrals.patient_key is null
        and referrals.patient_identifier_key is not null
        and patients.patient_identifier_key is null

),

references_made as (

    {%- set referencing = [
        ('referrals', 'ServiceRequest', 'referral_id', ['requester_reference',
            'performer_reference', 'second_performer_reference', 'location_reference']),
        ('encounters', 'Encounter', 'encounter_id', ['practitioner_reference',
            'location_reference', 'organization_reference']),
        ('roles', 'PractitionerRole', 'practitioner_role_id', ['practitioner_reference',
            'organization_reference', 'location_reference']),
        ('healthcare_services', 'HealthcareService', 'healthcare_service_id',
            ['provided_by_reference', 'location_reference']),
    ] %}
    {%- for relation, resource_type, id_column, columns in referencing %}
    {%- set outer_loop = loop %}
    {%- for column in columns %}
    select
        '{{ resource_type }}' as resource_type,
        {{ id_column }} as resource_id,
        '{{ column }}' as reference_column,
        {{ column }} as reference_key
    from {{ relation }}
    where {{ column }} is not null and {{ column }} <> 'Patient'
    {%- if not (loop.last and outer_loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}

),

resolved_or_not as (

    select
        {{ dbt.concat(["references_made.resource_type", "'/'", "references_made.resource_id",
                       "'|'", "references_made.reference_column"]) }} as unresolved_reference_id,
        references_made.resource_type,
        references_made.resource_id,
        references_made.reference_column,
        references_made.reference_key,
        case
            when targets.reference_key is not null then 'ambiguous'
            when references_made.reference_key = '#' then 'contained_without_identifier'
            when references_made.reference_key = 'unrecognized' then 'unrecognized_shape'
            else 'no_such_resource'
        end as problem
    from references_made
    left join targets
        on references_made.reference_key = targets.reference_key
    where targets.reference_key is null or not targets.is_unambiguous

),

final as (

    select * from resolved_or_not
    union all
    select * from patients_not_found

)

select * from final
