"""The whole pipeline on the hand-made world; every mart number was worked out on paper
(tests/fixtures/handmade/README.md shows the working)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.conftest import HANDMADE_LANDING as LANDING
from tests.conftest import rows


@pytest.fixture(scope="module")
def marts(handmade_marts: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return handmade_marts


def test_every_referral_has_its_stage_leak_and_milestones(marts) -> None:
    assert rows(marts, """
        select referral_number, direction, source_channel, referral_status, funnel_stage,
               leakage_reason, is_pending, days_to_schedule, days_to_first_visit,
               days_to_loop_close, appointment_count, reschedule_count,
               cancelled_appointment_count, no_show_count, cast(visit_revenue_amount as double)
        from marts.fct_referrals order by cast(substring(referral_number, 5) as integer)""") == [
        ("REF-1", "inbound", "physician", "completed", "loop_closed", None, False, 1, 15, 5,
         1, 0, 0, 0, 300.0),
        ("REF-2", "inbound", "physician", "completed", "attended", None, False, 1, 22, None,
         1, 1, 0, 0, 200.0),
        ("REF-3", "inbound", "physician", "revoked", "scheduled", "cancelled_not_rebooked",
         False, 1, None, None, 1, 0, 1, 0, 0.0),
        ("REF-4", "inbound", "physician", "completed", "loop_closed", None, False, 1, 28, 18,
         2, 0, 0, 1, 250.0),
        ("REF-5", "inbound", "physician", "active", "scheduled", "no_show_not_rebooked",
         False, 1, None, None, 1, 0, 0, 1, 0.0),
        ("REF-6", "inbound", "physician", "active", "referred", "never_scheduled", False,
         None, None, None, 0, 0, 0, 0, 0.0),
        ("REF-7", "inbound", "physician", "active", "referred", None, True, None, None, None,
         0, 0, 0, 0, 0.0),
        ("REF-8", "outbound", "physician", "active", "referred", "outbound_out_of_network",
         False, None, None, None, 0, 0, 0, 0, 0.0),
        ("REF-9", "internal", "physician", "completed", "attended", None, False, 1, 17, None,
         1, 0, 0, 0, 350.0),
        ("REF-10", "inbound", "ad", "completed", "attended", None, False, 1, 13, None,
         1, 0, 0, 0, 280.0),
        ("REF-11", "inbound", "physician", "revoked", "referred", "referral_revoked", False,
         None, None, None, 0, 0, 0, 0, 0.0),
        ("REF-12", "inbound", "ad", "active", "scheduled", None, True, 3, None, None,
         1, 0, 0, 0, 0.0),
        ("REF-13", "inbound", "physician", "active", "scheduled", "booked_slot_passed", False,
         1, None, None, 1, 0, 0, 0, 0.0),
    ]


def test_windows_close_thirty_days_after_each_referral(marts) -> None:
    assert rows(marts, """select referral_number from marts.fct_referrals
        where not is_window_closed order by referred_at""") == [
        ("REF-10",), ("REF-7",), ("REF-12",)]


def test_marts_carry_the_seeds_labels_beside_codes(marts) -> None:
    assert rows(marts, """
        select distinct direction_name, source_channel_name, funnel_stage_name,
               coalesce(leakage_reason_name, '-'), referral_status_name, payer_class_name
        from marts.fct_referrals where referral_number in ('REF-3', 'REF-8', 'REF-10')
        order by all""") == [
        ("Inbound", "Paid advertising", "Attended", "-", "Completed", "Unknown"),
        ("Inbound", "Physician referral", "Scheduled", "Cancelled and not rebooked",
         "Revoked (cancelled)", "Unknown"),
        ("Outbound", "Physician referral", "Referred", "Sent out of network", "Active",
         "Unknown"),
    ]


def test_funnel_counts_rates_and_medians(marts) -> None:
    assert rows(marts, """
        select cast(referral_month as varchar), source_channel, referring_practitioner_id,
               direction, is_window_closed, referred_count, scheduled_count, attended_count,
               loop_closed_count, leaked_count, pending_count, round(scheduling_rate, 4),
               round(attendance_rate, 4), round(loop_closure_rate, 4),
               round(referral_conversion_rate, 4), round(leakage_rate, 4),
               median_days_to_schedule, median_days_to_first_visit, median_days_to_loop_close
        from marts.fct_referral_funnel order by 1, 2, 3""") == [
        ("2026-01-01", "physician", "prac-pcp", "outbound", True, 1, 0, 0, 0, 1, 0, 0.0,
         None, None, 0.0, 1.0, None, None, None),
        ("2026-01-01", "physician", "prac-ref1", "inbound", True, 4, 3, 2, 1, 2, 0, 0.75,
         0.6667, 0.5, 0.5, 0.5, 1.0, 18.5, 5.0),
        ("2026-01-01", "physician", "prac-ref2", "inbound", True, 1, 1, 0, 0, 1, 0, 1.0,
         0.0, None, 0.0, 1.0, 1.0, None, None),
        ("2026-02-01", "physician", "prac-pcp", "internal", False, 1, 1, 1, 0, 0, 0, 1.0,
         1.0, 0.0, 1.0, 0.0, 1.0, 17.0, None),
        ("2026-02-01", "physician", "prac-ref2", "inbound", False, 3, 2, 1, 1, 2, 0, 0.6667,
         0.5, 1.0, 0.3333, 0.6667, 1.0, 28.0, 18.0),
        ("2026-03-01", "ad", None, "inbound", False, 2, 2, 1, 0, 0, 1, 1.0, 0.5, 0.0, 0.5,
         0.0, 2.0, 13.0, None),
        ("2026-03-01", "physician", "prac-ref1", "inbound", False, 1, 0, 0, 0, 0, 1, 0.0,
         None, None, 0.0, 0.0, None, None, None),
    ]


def test_funnel_never_widens_down_the_stages(marts) -> None:
    assert rows(marts, """select count(*) from marts.fct_referral_funnel
        where scheduled_count > referred_count or attended_count > scheduled_count
           or loop_closed_count > attended_count""") == [(0,)]


def test_leakage_with_estimated_lost_revenue(marts) -> None:
    assert rows(marts, """
        select referral_number, leakage_reason, cast(estimated_lost_revenue_amount as double)
        from marts.fct_referral_leakage order by 1""") == [
        ("REF-11", "referral_revoked", 276.0),
        ("REF-13", "booked_slot_passed", 276.0),
        ("REF-3", "cancelled_not_rebooked", 276.0),
        ("REF-5", "no_show_not_rebooked", 276.0),
        ("REF-6", "never_scheduled", 276.0),
        ("REF-8", "outbound_out_of_network", 276.0),
    ]
    # One row per month and referrer over every referral; a count per reason, in the seed's
    # order: outbound, revoked, never scheduled, cancelled, no-show, slot passed.
    assert rows(marts, """
        select cast(referral_month as varchar), referring_practitioner_id, is_window_closed,
               referred_count, leaked_count, pending_count, outbound_out_of_network_count,
               referral_revoked_count, never_scheduled_count, cancelled_not_rebooked_count,
               no_show_not_rebooked_count, booked_slot_passed_count, round(leakage_rate, 4),
               cast(estimated_lost_revenue_amount as double)
        from marts.fct_referral_leakage_summary order by 1, 2 nulls last""") == [
        ("2026-01-01", "prac-pcp", True, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1.0, 276.0),
        ("2026-01-01", "prac-ref1", True, 4, 2, 0, 0, 1, 0, 1, 0, 0, 0.5, 552.0),
        ("2026-01-01", "prac-ref2", True, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1.0, 276.0),
        # Nothing leaked: lost nothing, 0 (issue 21), not null (which means "leaked, unpriced").
        ("2026-02-01", "prac-pcp", False, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0),
        ("2026-02-01", "prac-ref2", False, 3, 2, 0, 0, 0, 1, 0, 1, 0, 0.6667, 552.0),
        ("2026-03-01", "prac-ref1", False, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0.0, 0.0),
        ("2026-03-01", None, False, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0.0, 0.0),
    ]


def test_every_count_rolls_up_to_the_same_totals(marts) -> None:
    """Referred and leaked: one number, whichever mart an analyst sums."""
    assert rows(marts, """
        select (select count(*) from marts.fct_referrals),
               (select sum(referred_count) from marts.fct_referral_funnel),
               (select sum(referred_count) from marts.fct_referral_leakage_summary),
               (select count(*) from marts.fct_referrals where is_leaked),
               (select sum(leaked_count) from marts.fct_referral_funnel),
               (select sum(leaked_count) from marts.fct_referral_leakage_summary),
               (select count(*) from marts.fct_referral_leakage)""") == [(13, 13, 13, 6, 6, 6, 6)]


def test_referring_providers_ranked_on_the_80_20_curve(marts) -> None:
    assert rows(marts, """
        select referring_practitioner_id, referring_provider_npi, practice_name,
               is_in_network, liaison_name, cast(first_referral_date as varchar),
               cast(last_referral_date as varchar), lifetime_referral_count,
               trailing_12_month_referral_count, volume_rank,
               round(cumulative_referral_share, 4), segment, is_at_risk
        from marts.dim_referring_providers order by volume_rank""") == [
        ("prac-ref1", "1234567893", "Oak Family Practice", False, "Pat Liaison",
         "2026-01-05", "2026-03-20", 5, 5, 1, 0.4545, "new", False),
        ("prac-ref2", "1555444334", "Oak Family Practice", False, "Pat Liaison",
         "2026-01-26", "2026-02-15", 4, 4, 2, 0.8182, "new", False),
        ("prac-pcp", "1777888995", "Riverbend Primary Care", True, None,
         "2026-01-15", "2026-02-20", 2, 2, 3, 1.0, "new", False),
    ]


def test_referrer_retention_by_cohort(marts) -> None:
    assert rows(marts, """
        select cast(cohort_month as varchar), months_since_first_referral, cohort_size,
               active_referrer_count, round(retention_rate, 4), referral_count
        from marts.fct_referrer_retention order by 1, 2""") == [
        ("2026-01-01", 0, 3, 3, 1.0, 6),
        ("2026-01-01", 1, 3, 2, 0.6667, 4),
        ("2026-01-01", 2, 3, 1, 0.3333, 1),
    ]


def test_campaign_performance_under_each_attribution_model(marts) -> None:
    assert rows(marts, """
        select campaign_id, cast(performance_month as varchar), attribution_model,
               cast(spend_amount as double), session_count, attributed_lead_count,
               attributed_referral_count, attributed_attended_count,
               cast(attributed_revenue_amount as double), round(cost_per_lead_amount, 2),
               round(roi, 4)
        from marts.fct_campaign_performance order by 1, 2, 3""") == [
        ("CMP-1", "2026-02-01", "first_touch", 300.0, 2, 0.0, 0.0, 0.0, 0.0, None, -1.0),
        ("CMP-1", "2026-02-01", "last_touch", 300.0, 2, 0.0, 0.0, 0.0, 0.0, None, -1.0),
        ("CMP-1", "2026-02-01", "linear", 300.0, 2, 0.0, 0.0, 0.0, 0.0, None, -1.0),
        ("CMP-1", "2026-03-01", "first_touch", 200.0, 1, 2.0, 2.0, 1.0, 280.0, 100.0, 0.4),
        ("CMP-1", "2026-03-01", "last_touch", 200.0, 1, 1.0, 1.0, 0.0, 0.0, 200.0, -1.0),
        ("CMP-1", "2026-03-01", "linear", 200.0, 1, 1.5, 1.5, 0.5, 140.0, 133.33, -0.3),
        ("CMP-2", "2026-03-01", "first_touch", 80.0, 1, 0.0, 0.0, 0.0, 0.0, None, -1.0),
        ("CMP-2", "2026-03-01", "last_touch", 80.0, 1, 1.0, 1.0, 1.0, 280.0, 80.0, 2.5),
        ("CMP-2", "2026-03-01", "linear", 80.0, 1, 0.5, 0.5, 0.5, 140.0, 160.0, 0.75),
        ("CMP-3", "2026-03-01", "first_touch", 0.0, 1, 1.0, 0.0, 0.0, 0.0, 0.0, None),
        ("CMP-3", "2026-03-01", "last_touch", 0.0, 1, 1.0, 0.0, 0.0, 0.0, 0.0, None),
        ("CMP-3", "2026-03-01", "linear", 0.0, 1, 1.0, 0.0, 0.0, 0.0, 0.0, None),
    ]


def test_status_history_holds_the_latest_versions(marts) -> None:
    assert rows(marts, """select referral_id, status_code
        from staging.stg_ehr__service_request_status_history
        where referral_id in ('ref-1', 'ref-11') and valid_to_at is null order by 1""") == [
        ("ref-1", "completed"), ("ref-11", "revoked")]


def test_incremental_models_match_a_full_refresh_after_a_late_file(marts, tmp_path) -> None:
    """A late GA4 file and a late SIU message: the incremental run equals a full refresh.

    (The staged GA4 events are a view, decision 161: the late file reaches them at once.)
    """
    import os
    import subprocess

    from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
    from orchestration.ingest.loader import load_entity
    from orchestration.ingest.pseudonymize import DEMO_KEY, Pseudonymizer
    from orchestration.ingest.warehouse import connect
    from orchestration.settings import REPO_ROOT
    from orchestration.transform.dbt_project import dbt_executable

    source = marts.execute("select path from duckdb_databases() where database_name = "
                           "current_database()").fetchone()[0]
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(source, warehouse)
    landing = tmp_path / "landing"
    shutil.copytree(LANDING, landing)
    late_event = (LANDING / "web" / "events_20260309.ndjson").read_text().splitlines()[0]
    (landing / "web" / "events_20260310.ndjson").write_text(
        late_event.replace("20260309", "20260310").replace('"3001"', '"3002"') + "\n")
    late_message = (LANDING / "scheduling" / "siu_202603.hl7").read_bytes().decode()
    (landing / "scheduling" / "siu_202603_late.hl7").write_bytes(
        late_message.replace("|M12|", "|M14|").replace("|M13|", "|M15|").encode())
    con = connect(warehouse)
    for table in ("web_ga4_events", "scheduling_siu_messages"):
        report = load_entity(con, ENTITIES_BY_TABLE[table], landing, Pseudonymizer(DEMO_KEY))
        assert report.rows_loaded >= 1
    con.close()

    def build(*extra: str) -> list[list[tuple]]:
        subprocess.run([dbt_executable(), "build", "--quiet", "--project-dir", str(REPO_ROOT),
                        "--profiles-dir", str(REPO_ROOT / "profiles"), "--select",
                        "stg_web__events stg_scheduling__appointment_events", *extra],
                       check=True, cwd=REPO_ROOT,
                       env={**os.environ, "RW_WAREHOUSE_PATH": str(warehouse)})
        with duckdb.connect(str(warehouse), read_only=True) as check:
            return [check.execute(f"select * exclude (loaded_at) from staging.{model} "
                                  "order by all").fetchall()
                    for model in ("stg_web__events", "stg_scheduling__appointment_events")]

    incremental = build()
    assert len(incremental[0]) == 14 and len(incremental[1]) == 17
    assert build("--full-refresh") == incremental


def test_one_sentinel_for_unknown_in_every_mart(marts) -> None:
    """Codes say `unknown`, labels `Unknown`, and an absent key is null (docs/metrics.md,
    "Unknown values"): no mart holds `none`, `None`, `N/A` or an empty string, no code
    column holds `Unknown` and no label column `unknown`."""
    columns = rows(marts, """select table_name, column_name from information_schema.columns
        where table_schema = 'marts' and data_type = 'VARCHAR'""")
    assert len(columns) > 40
    offenders = []
    for table, column in columns:
        label = column.endswith("_name")
        forbidden = ["none", "None", "N/A", "", "unknown" if label else "Unknown"]
        found = rows(marts, f"""select distinct "{column}" from marts."{table}"
            where "{column}" in ({", ".join("'" + f + "'" for f in forbidden)})""")
        offenders += [(table, column, value) for (value,) in found]
    assert offenders == []
