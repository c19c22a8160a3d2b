with

latest as (

    {{ latest_version(source('ehr', 'ehr_communication'), 'communication_id',
                      'last_updated_at') }}

),

final as (

    select
        communication_id,
        status as status_code,
        category_code,
        coalesce(category_code = '11488-4', false) as is_consult_note,
        based_on_service_request_id as referral_id,
        patient_key,
        encounter_id,
        sender_practitioner_id,
        recipient_practitioner_id,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at

    from latest

)

select * from final
