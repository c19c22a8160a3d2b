"""The Dagster code location: definitions load, the job materializes, sensors and schedules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.automation.sensors import landing_files_sensor
from orchestration.definitions import defs
from orchestration.extract.landing_resource import LandingResource
from orchestration.ingest.entities.entity_registry import ENTITIES
from tests.conftest import run_config


def test_definitions_load_with_one_asset_per_entity_and_dbt_downstream() -> None:
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    raw_keys = {dg.AssetKey(["raw", spec.table]) for spec in ENTITIES}
    assert {key for key in specs if key.path[0] == "raw"} == raw_keys
    assert defs.resolve_job_def("refresh_warehouse") is not None
    assert defs.resolve_schedule_def("daily_refresh").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("landing_files_sensor") is not None
    groups = {spec.group_name for key, spec in specs.items() if key in raw_keys}
    assert groups == {"ehr_extract", "scheduling_extract", "crm_extract", "web_extract"}
    # dbt sources resolve to the extract assets, so staging sits downstream of them.
    staged = specs[dg.AssetKey(["staging", "stg_ehr__service_requests"])]
    assert {dep.asset_key for dep in staged.deps} == {dg.AssetKey(["raw", "ehr_service_request"])}
    assert staged.group_name == "staging_ehr"
    seeded = specs[dg.AssetKey(["staging", "stg_scheduling__appointment_events"])]
    assert dg.AssetKey(["reference", "siu_trigger_events"]) in {d.asset_key for d in seeded.deps}


def test_the_ehr_export_has_its_own_job_and_stays_off_until_an_ehr_is_configured() -> None:
    """The refresh loads what landed; extraction lands files on its own schedule."""
    export = dg.AssetKey(["landing", "fhir_bulk_export"])
    refresh = defs.resolve_job_def("refresh_warehouse")
    assert export not in refresh.asset_layer.selected_asset_keys
    assert defs.resolve_job_def("extract_ehr").asset_layer.selected_asset_keys == {export}
    nightly = defs.resolve_schedule_def("nightly_ehr_export")
    assert (nightly.job_name, nightly.cron_schedule) == ("extract_ehr", "0 3 * * *")
    script = ("from orchestration.definitions import defs; "
              "print(defs.resolve_schedule_def('nightly_ehr_export').default_status.value)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RW_FHIR_BULK_")}
    statuses = [subprocess.run([sys.executable, "-c", script], env=extra, capture_output=True,
                               text=True, check=True).stdout.strip()
                for extra in (env, {**env, "RW_FHIR_BULK_BASE_URL": "https://ehr.example/fhir"})]
    assert statuses == ["STOPPED", "RUNNING"]


@pytest.fixture(scope="module")
def generated(demo_run) -> Path:
    return demo_run[1]


def test_job_materializes_every_asset_in_process_with_run_config(demo_run) -> None:
    root, generated, result = demo_run
    job = defs.resolve_job_def("refresh_warehouse")
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {dg.AssetKey(["raw", spec.table]) for spec in ENTITIES} <= materialized
    assert dg.AssetKey(["staging", "stg_ehr__service_requests"]) in materialized
    assert dg.AssetKey(["serving", "referral_marts"]) in materialized
    assert (root / "serving" / "referral_marts.duckdb").exists()
    assert (root / "serving" / "dbt_docs" / "index.html").exists()
    # On DuckDB alone nothing reads the Parquet raw datasets: none is written (decision 156).
    assert not (root / "raw_datasets").exists()
    with duckdb.connect(str(root / "serving" / "operations.duckdb"),
                        read_only=True) as serving:
        published = {r[0] for r in serving.execute("show tables").fetchall()}
    assert {"fct_referrals", "quality_rule_results", "source_freshness"} <= published
    with duckdb.connect(str(root / "serving" / "referral_marts.duckdb"), read_only=True) as bi:
        aggregates = {r[0] for r in bi.execute("show tables").fetchall()}
    assert "referral_funnel_monthly" in aggregates and "fct_referrals" not in aggregates
    evaluations = result.get_asset_check_evaluations()
    reconcile = [e for e in evaluations if e.check_name == "records_reconcile"]
    assert len(reconcile) == len(ENTITIES) and all(e.passed for e in reconcile)
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if event.asset_key.path[0] != "raw":
            continue
        assert meta["rows_read"].value == (meta["rows_loaded"].value
                                           + meta["rows_quarantined"].value)
    again = job.execute_in_process(run_config=run_config(generated, root))
    reads = [e.materialization.metadata["rows_read"].value
             for e in again.get_asset_materialization_events()
             if "rows_read" in e.materialization.metadata]
    assert again.success and set(reads) == {0}


def test_run_without_a_key_fails_with_the_reason(generated: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RW_PSEUDONYMIZATION_KEY", raising=False)
    monkeypatch.delenv("RW_DEMO_MODE", raising=False)
    job = defs.resolve_job_def("refresh_warehouse")
    result = job.execute_in_process(
        run_config=run_config(generated, tmp_path, demo=False),
        raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "RW_PSEUDONYMIZATION_KEY is not set" in failure.cause.message


def test_sensor_requests_a_run_only_when_files_change(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "web").mkdir(parents=True)
    (landing / "web/events_20260105.ndjson").write_text("{}\n")
    resources = {"landing": LandingResource(landing_dir=str(landing))}
    # Regression (issue 10): the first tick launched a refresh of files already loaded.
    first = landing_files_sensor(dg.build_sensor_context(resources=resources))
    assert not first.run_requests and first.cursor
    same = landing_files_sensor(dg.build_sensor_context(cursor=first.cursor,
                                                        resources=resources))
    assert isinstance(same, dg.SkipReason)
    shutil.copy(landing / "web/events_20260105.ndjson", landing / "web/events_20260106.ndjson")
    changed = landing_files_sensor(dg.build_sensor_context(cursor=first.cursor,
                                                           resources=resources))
    assert len(changed.run_requests) == 1 and changed.cursor != first.cursor


def test_the_code_location_loads_as_make_dev_loads_it(tmp_path: Path) -> None:
    """Pins the `make dev` failure: `dagster dev` (DAGSTER_IS_DEV_CLI) on a PATH without the
    venv made dagster-dbt's preparer look for `dbt` on PATH and the code location fail."""
    import subprocess
    import sys

    shutil.copy(Path(__file__).parents[1] / "orchestration" / "dagster.yaml", tmp_path)
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "DAGSTER_IS_DEV_CLI": "1",
           "DAGSTER_HOME": str(tmp_path), "RW_DEMO_MODE": "1", "TZ": "UTC"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate",
         "-m", "orchestration.definitions"], env=env, cwd=Path(__file__).parents[1],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
