"""Great Expectations suites: on a spoiled world they flag exactly the injected records; on
a clean world everything passes; a blocking failure stops the marts; Data Docs are written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import defs
from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from orchestration.quality.data_docs import docs_index
from orchestration.quality.suites import SuiteSpec, load_suites
from orchestration.quality.validate import read_batch, validate_suite
from tests.conftest import FIXTURES, TEST_KEY, run_config, simulate

# Which suite and rule must flag each kind of injected business-rule defect.
RULE_FOR_DEFECT = {
    ("missing_referral_source", "service_request"): ("raw_ehr_service_request",
                                                     "missing_referral_source"),
    ("invalid_status", "service_request"): ("raw_ehr_service_request", "invalid_status"),
    ("missing_referral_source", "intake_leads"): ("raw_crm_intake_leads",
                                                  "missing_referral_source"),
    ("invalid_status", "intake_leads"): ("raw_crm_intake_leads", "invalid_status"),
    ("invalid_npi", "practitioner"): ("raw_ehr_practitioner", "invalid_npi"),
    ("invalid_npi", "referring_providers"): ("raw_crm_referring_providers", "invalid_npi"),
    ("orphan_appointment", "siu_messages"): ("raw_scheduling_siu_messages",
                                             "orphan_appointment"),
}
RAW_SUITES = [s for s in load_suites() if s.asset_key[0] == "raw"]


def test_raw_suites_flag_exactly_the_injected_records(tmp_path: Path) -> None:
    landing, truth_path = simulate(tmp_path)
    truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
    con = connect(tmp_path / "w.duckdb")
    for spec in ENTITIES:
        load_entity(con, spec, landing, Pseudonymizer(TEST_KEY))
    expected: dict[tuple[str, str], set[str]] = {rule: set() for rule in
                                                 RULE_FOR_DEFECT.values()}
    for entry in truth:
        rule = RULE_FOR_DEFECT.get((entry["defect"], entry["entity"]))
        if rule:
            expected[rule].add(f"{entry['file']}:{entry['record_number']}")
    # Appointments whose referral line the simulator made unreadable are rightly orphans too.
    unreadable = {e["record_id"].split("/")[1].upper() for e in truth
                  if e["defect"] == "unparseable_json" and e["entity"] == "service_request"}
    expected[("raw_scheduling_siu_messages", "orphan_appointment")] |= {
        f"{file}:{number}" for file, number in con.execute(
            "select _source_file, _record_number from raw.scheduling_siu_messages "
            "where referral_id in (select unnest(?))", [sorted(unreadable)]).fetchall()}

    flagged: dict[tuple[str, str], set[str]] = {}
    for suite in RAW_SUITES:
        outcome = validate_suite(con, suite, tmp_path / "quality", "test")
        assert not outcome.error_failed, suite.name
        for rule in outcome.rules:
            if not rule.success:
                flagged.setdefault((suite.name, rule.rule), set()).update(rule.record_ids)
    assert all(expected.values())
    assert flagged == expected
    stored = con.execute("select suite, rule, count(*) from quality.flags group by 1, 2"
                         ).fetchall()
    assert {(s, r): n for s, r, n in stored} == {k: len(v) for k, v in expected.items()}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dg.ExecuteInProcessResult,
                                                                 Path]:
    root = tmp_path_factory.mktemp("clean")
    landing, _ = simulate(root, clean=True)
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(landing, root))
    return result, root / "quality"


def test_a_clean_world_passes_every_suite(clean_run) -> None:
    result, _ = clean_run
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()
                   if e.check_name.startswith("gx_")}
    assert set(evaluations) == {f"gx_{s.name}" for s in load_suites()}
    assert [name for name, e in evaluations.items() if not e.passed] == []


def test_data_docs_are_written_and_name_every_suite(clean_run) -> None:
    _, quality = clean_run
    index = docs_index(quality)
    assert index.exists()
    site = "\n".join(p.read_text(errors="replace") for p in index.parent.rglob("*.html"))
    for suite in load_suites():
        assert suite.name in site, suite.name


def test_blocking_failure_stops_the_marts_and_keeps_the_previous_ones(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "handmade" / "landing", landing)
    for entity in ("referring_practices", "referring_providers", "liaison_activities",
                   "campaigns", "campaign_spend", "intake_leads"):
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    config = run_config(landing, tmp_path)
    job = defs.resolve_job_def("refresh_warehouse")
    assert job.execute_in_process(run_config=config).success

    def marts() -> list[tuple]:
        with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
            return con.execute("select referral_id, referral_status, funnel_stage "
                               "from marts.fct_referrals order by 1").fetchall()

    before = marts()
    published = tmp_path / "serving" / "referral_marts.duckdb"
    with duckdb.connect(str(published), read_only=True) as reader:
        publication = reader.execute("select run_id from _publication").fetchone()
    # An export whose referrals all carry a status outside the FHIR value set.
    export = landing / "ehr" / "export_20260415"
    export.mkdir()
    lines = (landing / "ehr/export_20260331/ServiceRequest.000.ndjson").read_text().splitlines()
    broken = [line.replace('"status":"active"', '"status":"closed"')
              .replace('"status":"completed"', '"status":"closed"')
              .replace('"status":"revoked"', '"status":"closed"')
              .replace('"versionId":"2"', '"versionId":"3"').replace('"versionId":"1"',
                                                                     '"versionId":"2"')
              .replace('"lastUpdated":"2026-', '"lastUpdated":"2027-') for line in lines]
    (export / "ServiceRequest.000.ndjson").write_text("\n".join(broken) + "\n")
    (export / "manifest.json").write_text(json.dumps({
        "transactionTime": "2026-04-15T00:00:00Z", "request": "x", "requiresAccessToken": True,
        "output": [{"type": "ServiceRequest", "url": "https://x/ServiceRequest.000.ndjson"}],
        "error": []}))
    result = job.execute_in_process(run_config=config, raise_on_error=False)
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.check_name == "gx_raw_ehr_service_request")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    built = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert "marts" not in built and "staging" not in built and "serving" not in built
    assert marts() == before
    with duckdb.connect(str(published), read_only=True) as reader:
        assert reader.execute("select run_id from _publication").fetchone() == publication


def test_code_lists_come_from_the_seeds_and_only_from_them() -> None:
    """Every value set naming a seed gets exactly that seed's values; no suite spells out a
    list of codes a seed already holds (it would drift from the seed the models join)."""
    import csv

    from orchestration.quality.suites import SEEDS_DIR, seed_values

    seed_columns = {}
    for path in SEEDS_DIR.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for column in rows[0]:
            seed_columns[f"{path.stem}.{column}"] = {row[column] for row in rows}
    from_seeds = 0
    for suite in load_suites():
        raw = {e["meta"]["rule"]: e for e in json.loads(suite.path.read_text())["expectations"]}
        for expectation in suite.expectations:
            value_set = expectation["kwargs"].get("value_set")
            if value_set is None:
                continue
            reference = expectation["meta"].get("value_set_seed")
            if reference:
                from_seeds += 1
                assert value_set == seed_values(reference) and value_set
                assert "value_set" not in raw[expectation["meta"]["rule"]]["kwargs"]
                continue
            codes = {v for v in value_set if isinstance(v, str)}
            for column, values in seed_columns.items():
                assert len(codes & values) < 2, \
                    f"{suite.name}: {expectation['meta']['rule']} lists codes of {column}"
    assert from_seeds >= 10


def _spend_suite(path: Path, column: str) -> SuiteSpec:
    return SuiteSpec(
        name="spend", asset_key=("raw", "spend"), description="", path=path,
        batch_sql="select record_id, spend from spend order by record_id",
        expectations=({"type": "expect_column_values_to_be_between",
                       "kwargs": {"column": column, "min_value": 0},
                       "meta": {"rule": "negative", "severity": "warn"}},))


def test_gx_gets_the_batch_without_ids_and_names_failing_records_by_id(tmp_path: Path) -> None:
    """The frame leaves out `record_id` (GX reports positions, mapped back to ids), unless
    an expectation reads it; decimals reach GX as numbers, as DuckDB's `.df()` made them."""
    con = duckdb.connect()
    con.execute("""create table spend as select 'spend.csv:' || i as record_id,
                   cast(i - 2 as decimal(10, 2)) as spend from range(1, 6) r(i)""")
    frame, ids = read_batch(con, _spend_suite(tmp_path, "spend"))
    assert list(frame.columns) == ["spend"] and frame["spend"].dtype == "float64"
    assert ids.to_pylist() == [f"spend.csv:{i}" for i in range(1, 6)]
    outcome = validate_suite(con, _spend_suite(tmp_path, "spend"), tmp_path / "quality", "r1")
    assert [(r.unexpected_count, r.record_ids) for r in outcome.rules] == [(1, ["spend.csv:1"])]
    assert con.execute("select record_id from quality.flags").fetchall() == [("spend.csv:1",)]
    frame, _ = read_batch(con, _spend_suite(tmp_path, "record_id"))
    assert list(frame.columns) == ["record_id", "spend"]
