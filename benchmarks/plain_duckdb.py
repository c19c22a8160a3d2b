"""The user's alternative: one plain DuckDB script over the landing files, for the benchmark.

Issue 11 measures `referral-warehouse run` against what a user could write in an afternoon:
DuckDB reading the same landing files with its own readers (`read_json`, `read_csv`,
`read_text` for HL7) and computing the core marts with the definitions of docs/metrics.md:

- the referral funnel by month and specialty (referred, scheduled, attended, loop closed,
  leaked, pending);
- the leakage reason of every leaked referral;
- referrer volume ranks and segments;
- campaign spend and last-touch leads by month.

It does none of what makes the warehouse trustworthy: no pseudonymization, no quarantine
or ledger, no history, no checks, no incremental work. It handles only what the simulator
writes on a clean, plain world (`DefectRates.none()`, `StandardsRates.none()`: literal FHIR
references, well-formed HL7, no Tasks, FHIR Appointments, UBRNs or orders beside referrals), so
`benchmarks/reference_check.py` can hold its numbers equal to our marts. The code lists are
the project's seeds and the windows its dbt vars: one definition, read, not copied.

    python benchmarks/plain_duckdb.py <landing> <output.duckdb>
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
REFERRAL_NUMBER_SYSTEM = "urn:oid:2.16.840.1.113883.3.7418.2.1"
NETWORK_STATUS_URL = "https://referral-warehouse.dev/fhir/StructureDefinition/network-status"
REFERRAL_SOURCE_URL = "https://referral-warehouse.dev/fhir/StructureDefinition/referral-source"
CONSULT_NOTE_CODE = "11488-4"


def dbt_vars() -> dict:
    """The windows and thresholds the marts use, from dbt_project.yml."""
    return yaml.safe_load((ROOT / "dbt_project.yml").read_text())["vars"]


def fhir(landing: Path, resource_type: str) -> str:
    """A native NDJSON read of every export's files of one resource type."""
    return (f"read_json('{landing}/ehr/*/{resource_type}.*.ndjson', "
            "format='newline_delimited', union_by_name=true, filename=true)")


def latest(relation: str, key: str, order: str) -> str:
    """The latest delivered version of each record (later exports win ties)."""
    return f"""select * from (select *, row_number() over (
                   partition by {key} order by {order} desc, filename desc) as version_rank
               from {relation}) where version_rank = 1"""


def statements(landing: Path, v: dict) -> list[str]:
    """The whole script: one statement per table, in order."""
    window, lookback = v["leakage_window_days"], v["attribution_lookback_days"]
    period, threshold = v["segment_period_days"], v["segment_change_threshold"]
    hl7_time = "strptime({}, '%Y%m%d%H%M%S%z')::timestamp"
    return [
        "set TimeZone = 'UTC'",
        # EHR: the latest version of every resource the marts read.
        f"""create table referrals as
            select id as referral_id,
                   list_filter(identifier, i -> i.system = '{REFERRAL_NUMBER_SYSTEM}')[1].value
                       as referral_number,
                   status, authoredOn::timestamptz::timestamp as referred_at,
                   performerType.coding[1].code as specialty_code,
                   regexp_extract(requester.reference, '^Practitioner/(.+)$', 1)
                       as requester_practitioner_id,
                   regexp_extract(requester.reference, '^Organization/(.+)$', 1)
                       as requester_organization_id,
                   performer[1].reference as performer_1, performer[2].reference as performer_2
            from ({latest(fhir(landing, 'ServiceRequest'), 'id', 'meta.lastUpdated')})
            where status <> 'entered-in-error'""",
        f"""create table organizations as
            select id as organization_id,
                   coalesce(list_filter(extension, e -> e.url = '{NETWORK_STATUS_URL}')[1]
                            .valueCode = 'in-network', false) as is_in_network
            from ({latest(fhir(landing, 'Organization'), 'id', 'meta.lastUpdated')})""",
        f"""create table practitioner_networks as
            select regexp_extract(roles.practitioner.reference, '^Practitioner/(.+)$', 1)
                       as practitioner_id,
                   bool_or(organizations.is_in_network) as is_in_network
            from ({latest(fhir(landing, 'PractitionerRole'), 'id', 'meta.lastUpdated')}) roles
            join organizations on organizations.organization_id
                = regexp_extract(roles.organization.reference, '^Organization/(.+)$', 1)
            group by all""",
        f"""create table finished_visits as
            select regexp_extract(basedOn[1].reference, '^ServiceRequest/(.+)$', 1)
                       as referral_id,
                   period."start"::timestamptz::timestamp as started_at,
                   period."end"::timestamptz::timestamp as ended_at
            from ({latest(fhir(landing, 'Encounter'), 'id', 'meta.lastUpdated')})
            where status = 'finished'""",
        """create table visits as
            select referral_id, min(started_at) as first_visit_at
            from finished_visits group by all""",
        f"""create table consult_notes as
            select regexp_extract(basedOn[1].reference, '^ServiceRequest/(.+)$', 1)
                       as referral_id,
                   min(sent::timestamptz::timestamp) as loop_closed_at
            from ({latest(fhir(landing, 'Communication'), 'id', 'meta.lastUpdated')})
            where category[1].coding[1].code = '{CONSULT_NOTE_CODE}' and status = 'completed'
            group by all""",
        # Scheduling: HL7 v2 SIU batches, split into segments and fields in SQL.
        f"""create table siu_segments as
            select filename, position, fields,
                   sum(case when fields[1] = 'MSH' then 1 else 0 end)
                       over (partition by filename order by position) as message_number
            from (select filename, generate_subscripts(segments, 1) as position,
                         string_split(unnest(segments), '|') as fields
                  from (select filename, string_split(content, chr(13)) as segments
                        from read_text('{landing}/scheduling/*.hl7')))""",
        f"""create table appointment_events as
            select max(case when fields[1] = 'MSH' then split_part(fields[9], '^', 2) end)
                       as trigger_event,
                   max(case when fields[1] = 'MSH' then {hl7_time.format('fields[7]')} end)
                       as event_at,
                   max(case when fields[1] = 'SCH' then coalesce(
                       nullif(split_part(fields[3], '^', 1), ''),
                       split_part(fields[2], '^', 1)) end) as appointment_id,
                   max(case when fields[1] = 'SCH'
                       then nullif(split_part(fields[27], '^', 1), '') end) as referral_number,
                   max(case when fields[1] = 'TQ1' then {hl7_time.format('fields[8]')} end)
                       as slot_start_at,
                   string_agg(array_to_string(fields, '|'), chr(13) order by position)
                       as message_text
            from siu_segments where message_number > 0
            group by filename, message_number
            having count(*) filter (where fields[1] = 'MSH') = 1""",
        f"""create table appointment_outcomes as
            with events as (
                select events.*, triggers.event_type, triggers.is_booking
                from appointment_events events
                join read_csv('{SEEDS}/siu_trigger_events.csv') triggers using (trigger_event)
                where referral_number is not null),
            booked as (
                select referral_number, appointment_id, min(event_at) as booked_at
                from events where is_booking group by all),
            last_events as (
                select referral_number, appointment_id, event_type as last_event_type,
                       event_at as last_event_at, slot_start_at as last_slot_start_at
                from (select *, row_number() over (partition by referral_number, appointment_id
                                   order by event_at desc, md5(message_text) desc) as event_rank
                      from events semi join booked using (referral_number, appointment_id))
                where event_rank = 1),
            appointments as (
                select booked.*, last_events.* exclude (referral_number, appointment_id),
                       case when last_event_type in ('cancelled', 'deleted') then 'cancelled'
                            when last_event_type = 'no_show' then 'no_show'
                            else 'booked' end as outcome,
                       row_number() over (partition by booked.referral_number
                           order by booked_at desc, booked.appointment_id desc) as recency_rank
                from booked join last_events using (referral_number, appointment_id))
            select referral_number, min(booked_at) as first_scheduled_at,
                   max(outcome) filter (where recency_rank = 1) as last_outcome,
                   max(last_event_at) filter (where recency_rank = 1) as last_event_at,
                   max(last_slot_start_at) filter (where recency_rank = 1) as last_slot_at
            from appointments group by all""",
        # The moment of reporting: the latest thing that happened, up to now.
        """create table as_of as
            select max(happened_at) as as_of_at from (
                select referred_at as happened_at from referrals
                union all select event_at from appointment_events
                union all select ended_at from finished_visits)
            where happened_at <= current_timestamp::timestamp""",
        # Every referral classified (docs/metrics.md: funnel stages and leakage reasons).
        f"""create table referrals_classified as
            with joined as (
                select referrals.*, as_of.as_of_at,
                       coalesce(requester_network.is_in_network,
                                requester_organization.is_in_network, false) as from_network,
                       coalesce(receiver.is_in_network, false) as to_network,
                       outcomes.*, visits.first_visit_at, notes.loop_closed_at,
                       coalesce(statuses.is_closed_without_visit, false) as closed_without_visit
                from referrals cross join as_of
                left join practitioner_networks requester_network
                    on requester_network.practitioner_id = referrals.requester_practitioner_id
                left join organizations requester_organization
                    on requester_organization.organization_id
                        = referrals.requester_organization_id
                left join organizations receiver on receiver.organization_id = case
                    when performer_1 like 'Organization/%' then substr(performer_1, 14)
                    when performer_2 like 'Organization/%' then substr(performer_2, 14) end
                left join read_csv('{SEEDS}/service_request_statuses.csv') statuses
                    on statuses.status_code = referrals.status
                left join appointment_outcomes outcomes using (referral_number)
                left join visits using (referral_id)
                left join consult_notes notes using (referral_id)),
            milestones as (
                select *,
                       case when from_network and not to_network then 'outbound'
                            when from_network then 'internal' else 'inbound' end as direction,
                       first_visit_at is not null as has_attended,
                       first_scheduled_at is not null or first_visit_at is not null
                           as has_scheduled,
                       loop_closed_at is not null and first_visit_at is not null
                           as has_loop_closed,
                       referred_at + interval {window} day <= as_of_at as is_window_closed
                from joined),
            classified as (
                select *, case
                    when direction = 'outbound' then 'outbound_out_of_network'
                    when has_attended then null
                    when last_outcome = 'cancelled' and (closed_without_visit
                        or last_event_at + interval {window} day <= as_of_at)
                        then 'cancelled_not_rebooked'
                    when last_outcome = 'no_show' and (closed_without_visit
                        or last_event_at + interval {window} day <= as_of_at)
                        then 'no_show_not_rebooked'
                    when closed_without_visit then 'referral_revoked'
                    when not has_scheduled and is_window_closed then 'never_scheduled'
                    when last_outcome = 'booked'
                        and last_slot_at + interval {window} day <= as_of_at
                        then 'booked_slot_passed'
                    end as leakage_reason
                from milestones)
            select *, leakage_reason is not null as is_leaked,
                   leakage_reason is null and not has_attended as is_pending
            from classified""",
        # The core marts.
        """create table funnel as
            select date_trunc('month', referred_at)::date as referral_month, specialty_code,
                   count(*) as referred_count,
                   count(*) filter (where has_scheduled) as scheduled_count,
                   count(*) filter (where has_attended) as attended_count,
                   count(*) filter (where has_loop_closed) as loop_closed_count,
                   count(*) filter (where is_leaked) as leaked_count,
                   count(*) filter (where is_pending) as pending_count
            from referrals_classified group by all""",
        """create table leakage as
            select referral_id, leakage_reason from referrals_classified where is_leaked""",
        f"""create table referrers as
            with volumes as (
                select requester_practitioner_id as referring_practitioner_id,
                       min(referred_at) as first_referral_at,
                       count(*) as lifetime_referral_count,
                       count(*) filter (where referred_at
                           > as_of_at - interval {period} day) as recent_count,
                       count(*) filter (where referred_at > as_of_at - interval {2 * period} day
                           and referred_at <= as_of_at - interval {period} day)
                           as previous_count,
                       any_value(as_of_at) as as_of_at
                from referrals_classified where requester_practitioner_id <> ''
                group by all)
            select referring_practitioner_id, lifetime_referral_count,
                   row_number() over (order by lifetime_referral_count desc,
                                      referring_practitioner_id) as volume_rank,
                   case when first_referral_at > as_of_at - interval {period} day then 'new'
                        when recent_count = 0 then 'dormant'
                        when recent_count >= previous_count * (1 + {threshold}) then 'growing'
                        when recent_count <= previous_count * (1 - {threshold})
                            then 'declining'
                        else 'steady' end as segment
            from volumes""",
        f"""create table campaigns as
            with campaign_versions as (
                select * from read_csv('{landing}/crm/campaigns/*.csv', filename=true)),
            campaigns as ({latest('campaign_versions', 'campaign_id', 'last_modified_at')}),
            spend_rows as (select * from read_csv('{landing}/crm/campaign_spend/*.csv',
                                                  filename=true)),
            spend as ({latest('spend_rows', 'campaign_id, spend_date', 'last_modified_at')}),
            monthly_spend as (
                select campaign_id, date_trunc('month', spend_date)::date as performance_month,
                       sum(spend_amount::decimal(12, 2)) as spend_amount
                from spend group by all),
            lead_rows as (select * from read_csv('{landing}/crm/intake_leads/*.csv',
                                                 filename=true, all_varchar=true)),
            leads as ({latest('lead_rows', 'lead_id', 'last_modified_at::timestamptz')}),
            events as (
                select user_pseudo_id,
                       user_pseudo_id || '|' || coalesce(list_filter(event_params,
                           p -> p.key = 'ga_session_id')[1].value.int_value::varchar,
                           'no-session') as session_id,
                       make_timestamp(event_timestamp::bigint) as event_at,
                       collected_traffic_source.manual_campaign_name as utm_campaign
                from read_json('{landing}/web/events_*.ndjson', format='newline_delimited',
                               union_by_name=true)
                where user_pseudo_id is not null),
            sessions as (
                select session_id, min(user_pseudo_id) as user_pseudo_id,
                       min(event_at) as session_started_at, max(utm_campaign) as utm_campaign
                from events group by all),
            touches as (
                select leads.lead_id, campaigns.campaign_id,
                       date_trunc('month', leads.created_at::timestamptz::timestamp)::date
                           as lead_month,
                       row_number() over (partition by leads.lead_id
                           order by session_started_at desc, session_id desc) as recency
                from leads
                join sessions on leads.ga_client_id = sessions.user_pseudo_id
                    and leads.created_at::timestamptz::timestamp >= session_started_at
                    and session_started_at >= leads.created_at::timestamptz::timestamp
                        - interval {lookback} day
                join campaigns on campaigns.utm_campaign = sessions.utm_campaign),
            last_touch as (
                select campaign_id, lead_month as performance_month, count(*) as lead_count
                from touches where recency = 1 group by all)
            select campaign_id, performance_month,
                   coalesce(spend_amount, 0) as spend_amount,
                   coalesce(lead_count, 0) as last_touch_lead_count
            from monthly_spend full join last_touch using (campaign_id, performance_month)""",
    ]


CORE_TABLES = ("funnel", "leakage", "referrers", "campaigns")


def run(landing: Path, output: Path) -> float:
    """Build the core marts from the landing folder into `output`; return the seconds taken."""
    output.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(output)) as con:
        for statement in statements(landing.resolve(), dbt_vars()):
            con.execute(statement)
    return time.perf_counter() - started


def main() -> None:
    """Command line: landing folder in, DuckDB file out."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("landing", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    print(f"plain DuckDB script: {run(args.landing, args.output):.1f}s")


if __name__ == "__main__":
    main()
