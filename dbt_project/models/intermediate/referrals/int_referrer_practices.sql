-- One row per practitioner who has referred: the practice they refer from and its liaison.
-- The practice is the CRM's referring practice (matched by NPI) when the CRM knows the
-- clinician, else the EHR organization they work for, else the clinician alone.
with

referrers as (

    select distinct referring_practitioner_id
    from {{ ref('int_referrals_joined') }}
    where referring_practitioner_id is not null

),

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

crm_providers as (

    select * from {{ ref('stg_crm__referring_providers') }}

),

crm_practices as (

    select * from {{ ref('stg_crm__referring_practices') }}

),

practitioner_organizations as (

    select * from {{ ref('int_practitioner_networks') }}

),

final as (

    select
        referrers.referring_practitioner_id,
        -- A clinician neither the CRM nor the EHR places in a practice is a practice of one.
        coalesce(
            crm_providers.practice_id, practitioner_organizations.organization_id,
            referrers.referring_practitioner_id
        ) as practice_key,
        crm_providers.practice_id,
        coalesce(
            crm_practices.practice_name, practitioner_organizations.organization_name,
            'Unknown'
        ) as practice_name,
        coalesce(crm_providers.liaison_name, crm_practices.liaison_name) as liaison_name
    from referrers
    left join practitioners
        on referrers.referring_practitioner_id = practitioners.practitioner_id
    left join practitioner_organizations
        on referrers.referring_practitioner_id = practitioner_organizations.practitioner_id
    left join crm_providers
        on practitioners.npi = crm_providers.npi
    left join crm_practices
        on crm_providers.practice_id = crm_practices.practice_id

)

select * from final
