-- One row per finished visit based on a referral, with the revenue claimed for it.
with

encounters as (

    select * from {{ ref('int_encounters_resolved') }}
    where status_code = 'finished' and referral_id is not null

),

claims as (

    select * from {{ ref('stg_ehr__claims') }}
    where claim_use = 'claim' and status_code <> 'entered-in-error'

),

claim_totals as (

    select
        encounter_id,
        sum(total_amount) as revenue_amount,
        count(*) as claim_count
    from claims
    group by encounter_id

),

final as (

    select
        encounters.encounter_id,
        encounters.referral_id,
        encounters.patient_key,
        encounters.practitioner_id,
        encounters.location_id,
        encounters.started_at,
        encounters.ended_at,
        coalesce(claim_totals.revenue_amount, 0) as revenue_amount,
        coalesce(claim_totals.claim_count, 0) as claim_count,
        row_number() over (
            partition by encounters.referral_id
            order by encounters.started_at, encounters.encounter_id
        ) = 1 as is_first_visit
    from encounters
    left join claim_totals
        on encounters.encounter_id = claim_totals.encounter_id

)

select * from final
