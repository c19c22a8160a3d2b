"""The whole pipeline on a feed written to the public referral specifications (US Core, 360X,
BaRS and e-RS, Da Vinci CRD, SDOH-CC) with none of our extensions: every value below was
worked out by hand in tests/fixtures/standards/README.md."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import rows


@pytest.fixture(scope="module")
def marts(standards_world: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(standards_world / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def test_every_service_request_gets_its_kind_and_the_reason_it_is_not_a_referral(marts):
    assert rows(marts, """select service_request_id, service_request_kind, is_counted_referral,
            exclusion_reason, workflow_status, workflow_status_source
        from marts.fct_service_requests order by 1""") == [
        ("bars-referral-15", "referral", True, None, "rejected", "task"),
        ("crd-draft-1", "referral", False, "draft", "draft", "service_request"),
        ("crd-draft-2", "referral", False, "draft", "draft", "service_request"),
        ("crd-draft-3", "procedure", False, "draft", "draft", "service_request"),
        ("crd-draft-4", "imaging", False, "draft", "draft", "service_request"),
        ("crd-draft-5", "unclassified", False, "draft", "draft", "service_request"),
        ("dnr-directive", "unclassified", False, "do_not_perform", "active", "service_request"),
        ("error-19", "referral", False, "entered_in_error", "entered-in-error",
         "service_request"),
        ("ers-advice-1", "advice_and_guidance", False, "not_a_referral", "completed", "task"),
        ("ers-advice-2", "advice_and_guidance", False, "not_a_referral", "active",
         "service_request"),
        ("ers-referral-14", "referral", True, None, "accepted", "task"),
        ("outbound-21", "referral", True, None, "active", "service_request"),
        ("sdoh-food-18", "social_care", False, "not_a_referral", "accepted", "task"),
        ("self-referral-20", "referral", True, None, "active", "service_request"),
        ("unknown-22", "referral", True, None, "active", "service_request"),
        ("uscore-a1c", "laboratory", False, "not_a_referral", "active", "service_request"),
        ("uscore-cbc", "laboratory", False, "not_a_referral", "active", "service_request"),
        ("uscore-chest-xray", "imaging", False, "not_a_referral", "active", "service_request"),
        ("uscore-ecg", "procedure", False, "not_a_referral", "active", "service_request"),
        ("uscore-referral-1", "referral", True, None, "active", "service_request"),
        ("x360-referral-16", "referral", True, None, "completed", "task"),
        ("x360-referral-17", "referral", True, None, "cancelled", "task"),
    ]


def test_each_referral_has_the_status_stage_leak_and_direction_the_standards_give(marts):
    assert rows(marts, """select referral_id, referral_status, referral_status_source,
            direction, source_channel, funnel_stage, leakage_reason, is_pending,
            appointment_count, days_to_schedule, days_to_first_visit
        from marts.fct_referrals order by 1""") == [
        ("bars-referral-15", "rejected", "task", "inbound", "physician", "referred",
         "rejected_by_receiver", False, 0, None, None),
        ("ers-referral-14", "accepted", "task", "inbound", "physician", "scheduled", None,
         True, 1, 1, None),
        ("outbound-21", "active", "service_request", "outbound", "physician", "referred",
         "outbound_out_of_network", False, 0, None, None),
        ("self-referral-20", "active", "service_request", "inbound", "self_referral",
         "referred", None, True, 0, None, None),
        ("unknown-22", "active", "service_request", "unknown", "physician", "referred",
         "never_scheduled", False, 0, None, None),
        ("uscore-referral-1", "active", "service_request", "inbound", "physician", "attended",
         None, False, 1, 1, 18),
        ("x360-referral-16", "completed", "task", "inbound", "physician", "attended", None,
         False, 1, 7, None),
        ("x360-referral-17", "cancelled", "task", "inbound", "physician", "scheduled",
         "referral_revoked", False, 1, 2, None),
    ]


def test_parties_numbers_and_dates_come_from_standard_identifiers_not_our_extensions(marts):
    assert rows(marts, """select referral_id, referral_number, referring_practitioner_id,
            requester_type, receiving_organization_id, receiving_healthcare_service_id,
            cast(referred_at as varchar), referred_at_source,
            cast(referral_month as varchar), is_window_closed
        from marts.fct_referrals order by 1""") == [
        ("bars-referral-15", None, None, "Organization", "riverside-trust", "hs-cardiology",
         "2026-02-20 09:00:00", "authored_on", "2026-02-01", True),
        ("ers-referral-14", "000049624123", "gp-1", "PractitionerRole", "riverside-trust",
         "hs-cardiology", "2026-02-15 11:00:00", "task_authored_on", "2026-02-01", True),
        ("outbound-21", None, "rs-cardiologist", "PractitionerRole", "lakeside", None,
         "2026-03-25 10:00:00", "authored_on", "2026-03-01", False),
        ("self-referral-20", None, None, "Patient", "riverside-cardiology", None, None,
         "undated", None, False),
        ("unknown-22", None, "us-hospitalist", "Practitioner", None, None,
         "2026-01-20 09:00:00", "authored_on", "2026-01-01", True),
        ("uscore-referral-1", None, "us-pcp", "Practitioner", "riverside-cardiology", None,
         "2026-02-02 09:00:00", "authored_on", "2026-02-01", True),
        ("x360-referral-16", None, "us-pcp", "Practitioner", "riverside-cardiology", None,
         "2026-02-05 09:00:00", "authored_on", "2026-02-01", True),
        ("x360-referral-17", None, "us-pcp", "PractitionerRole", "riverside-cardiology",
         None, "2026-02-10 09:00:00", "authored_on", "2026-02-01", True),
    ]


def test_patients_named_by_identifier_get_keys_and_the_unmatched_one_is_reported(marts):
    keys = dict(rows(marts, """select referral_id, patient_key_source
        from intermediate.int_service_requests_resolved where is_counted_referral"""))
    assert keys["ers-referral-14"] == "identifier_matched"
    assert keys["bars-referral-15"] == "identifier_only"
    assert {v for k, v in keys.items() if k not in ("ers-referral-14", "bars-referral-15")} \
        == {"reference"}
    matched = rows(marts, """select r.patient_key = p.patient_key
        from marts.fct_referrals as f
        inner join intermediate.int_service_requests_resolved as r using (referral_id)
        cross join staging.stg_ehr__patients as p
        where f.referral_id = 'ers-referral-14' and p.patient_identifier_key is not null""")
    assert matched == [(True,)]
    assert rows(marts, """select resource_id, problem
        from intermediate.int_fhir_references_unresolved""") == [
        ("bars-referral-15", "identifier_without_patient")]


def test_one_referrer_per_npi_and_networks_from_the_seed_and_the_hierarchy(marts):
    assert rows(marts, """select referring_practitioner_id, lifetime_referral_count,
            is_in_network from marts.dim_referring_providers order by 1""") == [
        ("gp-1", 1, False), ("rs-cardiologist", 1, True), ("us-hospitalist", 1, False),
        ("us-pcp", 3, False)]
    assert rows(marts, """select organization_id, network_status, network_status_source
        from intermediate.int_organization_networks order by 1""") == [
        ("food-bank", "out_of_network", "not_listed"),
        ("gp-a81001", "out_of_network", "not_listed"),
        ("lakeside", "out_of_network", "not_listed"),
        ("oak-family", "out_of_network", "not_listed"),
        ("riverside-cardiology", "in_network", "network_organizations"),
        ("riverside-trust", "in_network", "network_organizations"),
    ]


def test_funnel_has_an_undated_bucket_and_totals_agree_across_marts(marts):
    assert rows(marts, """select cast(referral_month as varchar), direction,
            sum(referred_count), sum(scheduled_count), sum(attended_count),
            sum(leaked_count), sum(pending_count)
        from marts.fct_referral_funnel group by all order by 1 nulls last, 2""") == [
        ("2026-01-01", "unknown", 1, 0, 0, 1, 0),
        ("2026-02-01", "inbound", 5, 4, 2, 2, 1),
        ("2026-03-01", "outbound", 1, 0, 0, 1, 0),
        (None, "inbound", 1, 0, 0, 0, 1),
    ]
    assert rows(marts, """select sum(referred_count), sum(leaked_count), sum(pending_count),
            sum(rejected_by_receiver_count), sum(referral_revoked_count)
        from marts.fct_referral_leakage_summary""") == [(8, 4, 2, 1, 1)]


def test_lost_revenue_is_zero_where_nothing_leaked_and_null_where_unpriced(marts):
    assert rows(marts, """select coalesce(cast(referral_month as varchar), 'undated'),
            coalesce(referring_practitioner_id, '-'), leaked_count,
            cast(estimated_lost_revenue_amount as double)
        from marts.fct_referral_leakage_summary order by 1, 2""") == [
        ("2026-01-01", "us-hospitalist", 1, None),
        ("2026-02-01", "-", 1, None),
        ("2026-02-01", "gp-1", 0, 0.0),
        ("2026-02-01", "us-pcp", 1, None),
        ("2026-03-01", "rs-cardiologist", 1, None),
        ("undated", "-", 0, 0.0),
    ]


def test_the_funnel_as_of_a_month_end_reads_the_task_history(marts):
    assert rows(marts, """select cast(as_of_at as varchar), referred_count, scheduled_count,
            attended_count, revoked_count
        from marts.fct_referral_funnel_as_of
        where referral_month = date '2026-02-01' order by 1""") == [
        ("2026-03-01 00:00:00", 5, 4, 1, 2),
        ("2026-03-25 10:00:00", 5, 4, 2, 2),
    ]
