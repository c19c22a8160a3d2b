-- One row per ServiceRequest (latest version): which kind of request it is under the
-- referral definition (seeds service_request_kind_rules, service_request_kinds), and whether
-- it counts as a referral, with the reason when it does not (draft, entered in error, do not
-- perform, an intent that is no order, a kind that is no referral). docs/sources.md.
with

service_requests as (

    select * from {{ ref('stg_ehr__service_requests') }}

),

rules as (

    select * from {{ ref('service_request_kind_rules') }}

),

kinds as (

    select * from {{ ref('service_request_kinds') }}

),

intents as (

    select * from {{ ref('service_request_intents') }}

),

statuses as (

    select * from {{ ref('service_request_statuses') }}

),

-- A rule matches when any coding of its element is its system|code (`*` for any coding).
matches as (

    select
        service_requests.referral_id,
        rules.rule_order,
        rules.service_request_kind
    from service_requests
    inner join rules
        on case rules.element
            when 'category' then service_requests.category_tokens
            when 'code' then service_requests.code_tokens
            when 'performer_type' then service_requests.performer_type_tokens
        end like case
            when rules.coding_system = '*' then '%|%'
            else {{ dbt.concat(["'% '", "rules.coding_system", "'|'", "rules.coding_code",
                                "' %'"]) }}
        end

),

first_matches as (

    select
        referral_id,
        service_request_kind
    from (
        select
            *,
            row_number() over (partition by referral_id order by rule_order) as match_rank
        from matches
    ) as ranked
    where match_rank = 1

),

classified as (

    select
        service_requests.*,
        coalesce(first_matches.service_request_kind, 'unclassified') as service_request_kind,
        case
            when service_requests.status_code = 'entered-in-error' then 'entered_in_error'
            when not coalesce(statuses.is_counted, true) then 'draft'
            when service_requests.is_do_not_perform then 'do_not_perform'
            when not coalesce(intents.is_order, true) then 'not_an_order'
        end as status_exclusion_reason,
        -- What the request's own status says (seed service_request_statuses), for the
        -- workflow's precedence rule (int_referral_workflow).
        coalesce(statuses.status_name, 'Unknown') as service_request_status_name,
        coalesce(statuses.is_counted, true) as service_request_is_counted,
        coalesce(statuses.is_open, false) as service_request_is_open,
        coalesce(statuses.is_terminal, false) as service_request_is_terminal,
        coalesce(statuses.is_closed_without_visit, false)
            as service_request_is_closed_without_visit,
        coalesce(statuses.is_performed, false) as service_request_is_performed,
        statuses.closed_leakage_reason as service_request_closed_leakage_reason
    from service_requests
    left join first_matches
        on service_requests.referral_id = first_matches.referral_id
    left join statuses
        on service_requests.status_code = statuses.status_code
    left join intents
        on service_requests.intent = intents.intent

),

final as (

    select
        classified.*,
        kinds.service_request_kind_name,
        coalesce(kinds.is_referral, false) as is_referral_kind,
        coalesce(
            classified.status_exclusion_reason,
            case when not coalesce(kinds.is_referral, false) then 'not_a_referral' end
        ) as exclusion_reason,
        (
            classified.status_exclusion_reason is null
            and coalesce(kinds.is_referral, false)
        ) as is_counted_referral
    from classified
    left join kinds
        on classified.service_request_kind = kinds.service_request_kind

)

select * from final
