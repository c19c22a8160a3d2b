-- One row per referral number (the site's referral-number systems: our OID, an e-RS UBRN)
-- with the ServiceRequest it numbers: how scheduling messages (SCH-26) and Tasks whose focus
-- is an identifier find their referral. A number two requests share goes to the smaller id.
with

service_requests as (

    select * from {{ ref('stg_ehr__service_requests') }}
    where referral_number is not null

),

final as (

    select
        referral_number,
        min(referral_id) as referral_id
    from service_requests
    group by referral_number

)

select * from final
