with

latest as (

    {{ latest_version(source('ehr', 'ehr_claim'), 'claim_id', 'last_updated_at') }}

),

final as (

    select
        claim_id,
        status as status_code,
        use as claim_use,
        type_code,
        patient_key,
        encounter_id,
        provider_practitioner_id,
        coverage_id,
        procedure_code,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        total_amount,
        currency

    from latest

)

select * from final
