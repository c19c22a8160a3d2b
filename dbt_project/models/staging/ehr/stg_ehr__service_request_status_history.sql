-- One row per delivered version of each referral: its status and when that status held
-- (valid from the version's lastUpdated to the next version's). The history is rebuilt from
-- the raw versions the loader keeps, so it needs no snapshot and works on every engine.
with

deliveries as (

    {{ delivered_versions(source('ehr', 'ehr_service_request'), 'service_request_id') }}

),

versions as (

    select
        service_request_id,
        status,
        cast(last_updated_at as {{ dbt.type_timestamp() }}) as valid_from_at
    from deliveries
    where last_updated_at is not null

),

final as (

    select
        {{ dbt.concat(["service_request_id", "'|'",
                       "cast(valid_from_at as " ~ dbt.type_string() ~ ")"]) }}
            as status_version_id,
        service_request_id as referral_id,
        status as status_code,
        valid_from_at,
        lead(valid_from_at) over (
            partition by service_request_id order by valid_from_at
        ) as valid_to_at
    from versions

)

select * from final
