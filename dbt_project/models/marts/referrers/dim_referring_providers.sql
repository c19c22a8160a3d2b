with

segmented as (

    select * from {{ ref('int_referrers_segmented') }}

),

practitioners as (

    select * from {{ ref('stg_ehr__practitioners') }}

),

crm_providers as (

    select * from {{ ref('stg_crm__referring_providers') }}

),

referrer_practices as (

    select * from {{ ref('int_referrer_practices') }}

),

specialties as (

    select * from {{ ref('specialty_taxonomy') }}

),

practitioner_organizations as (

    select * from {{ ref('int_practitioner_networks') }}

),

final as (

    select
        segmented.referring_practitioner_id,
        practitioners.npi as referring_provider_npi,
        practitioners.given_name,
        practitioners.family_name,
        referrer_practices.practice_name,
        referrer_practices.practice_id,
        coalesce(practitioners.taxonomy_code, crm_providers.taxonomy_code) as taxonomy_code,
        specialties.specialty_name,
        coalesce(practitioner_organizations.is_in_network, false) as is_in_network,
        referrer_practices.liaison_name,
        cast(segmented.first_referral_at as date) as first_referral_date,
        cast(segmented.last_referral_at as date) as last_referral_date,
        segmented.lifetime_referral_count,
        segmented.trailing_12_month_referral_count,
        segmented.recent_period_referral_count,
        segmented.previous_period_referral_count,
        cast(segmented.volume_rank as {{ dbt.type_bigint() }}) as volume_rank,
        {{ safe_divide('segmented.volume_rank', 'segmented.referrer_count') }}
            as volume_rank_share,
        {{ safe_divide('segmented.cumulative_referral_count', 'segmented.all_referral_count') }}
            as cumulative_referral_share,
        segmented.segment,
        segmented.segment in ('declining', 'dormant') as is_at_risk
    from segmented
    left join practitioners
        on segmented.referring_practitioner_id = practitioners.practitioner_id
    left join practitioner_organizations
        on segmented.referring_practitioner_id = practitioner_organizations.practitioner_id
    left join crm_providers
        on practitioners.npi = crm_providers.npi
    left join referrer_practices
        on segmented.referring_practitioner_id = referrer_practices.referring_practitioner_id
    left join specialties
        on coalesce(practitioners.taxonomy_code, crm_providers.taxonomy_code)
        = specialties.taxonomy_code

)

select * from final
