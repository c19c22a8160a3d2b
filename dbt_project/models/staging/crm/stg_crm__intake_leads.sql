with

latest as (

    {{ latest_version(source('crm', 'crm_intake_leads'), 'lead_id', 'last_modified_at') }}

),

final as (

    select
        lead_id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        contact_key,
        birth_year,
        is_aged_90_or_older,
        postal_code_3,
        referral_source as referral_source_code,
        has_referral_source_other,
        referring_provider_npi,
        campaign_id,
        utm_campaign,
        ga_client_id,
        specialty_requested as specialty_code,
        status as status_code,
        converted_referral_id as converted_referral_number,
        cast(converted_at as {{ dbt.type_timestamp() }}) as converted_at,
        cast(last_modified_at as {{ dbt.type_timestamp() }}) as last_modified_at,
        version_count

    from latest

)

select * from final
