with

latest as (

    {{ latest_version(source('ehr', 'ehr_coverage'), 'coverage_id', 'last_updated_at') }}

),

payer_classes as (

    select * from {{ ref('payer_classes') }}

),

final as (

    select
        latest.coverage_id,
        latest.patient_key,
        latest.status as status_code,
        latest.payer_class_code,
        coalesce(payer_classes.payer_class, 'unknown') as payer_class,
        coalesce(payer_classes.payer_class_name, 'Unknown') as payer_class_name,
        latest.payer_organization_id,
        latest.payer_name

    from latest
    left join payer_classes
        on cast(payer_classes.payer_class_code as {{ dbt.type_string() }})
        = latest.payer_class_code

)

select * from final
