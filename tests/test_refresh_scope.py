"""A refresh runs only what its new files change, and ends where a full refresh would (issue 25).

The hand-made world, copied, gets one more day of GA4 events. The refresh then runs the GA4
load, its suite and what dbt builds from web events, and no other load; its marts equal
those a full refresh builds from the same files afterwards.
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.automation.pending_work import pending
from orchestration.automation.refresh_scope import refresh_selection
from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer, resolve_key
from orchestration.ingest.warehouse import connect
from orchestration.transform.dbt_manifest import build_target_path
from tests.conftest import run_config
from tests.engines.marts import duckdb_marts

GA4_EVENTS = dg.AssetKey(["raw", "web_ga4_events"])


@pytest.fixture
def world(handmade_world: Path, tmp_path: Path) -> Path:
    """A copy of the hand-made world after its run, with one new day of GA4 events."""
    root = tmp_path / "world"
    shutil.copytree(handmade_world, root, symlinks=True)
    _add_ga4_day(root / "landing" / "web", "20260311")
    return root


def _add_ga4_day(web: Path, day: str) -> None:
    """Land a file of one GA4 event on `day` (YYYYMMDD), copied from the newest file's first."""
    event = json.loads(sorted(web.glob("*.ndjson"))[-1].read_text().splitlines()[0])
    midnight = datetime.datetime.strptime(day, "%Y%m%d").replace(tzinfo=datetime.UTC)
    event.update(event_date=day, event_timestamp=str(int(midnight.timestamp() + 43200) * 10**6))
    (web / f"events_{day}.ndjson").write_text(json.dumps(event) + "\n")


def _job() -> dg.JobDefinition:
    from orchestration.definitions import defs

    return defs.resolve_job_def("refresh_warehouse")


def test_one_new_ga4_file_selects_its_load_and_what_reads_web_events(world: Path) -> None:
    work = pending(world / "landing", world / "warehouse.duckdb")
    assert work.reasons == ["1 new or changed file(s) for web_ga4_events"]
    assert work.entities == ("web_ga4_events",)
    job = _job()
    selection = set(refresh_selection(job, work))
    every = job.asset_layer.executable_asset_keys
    assert {GA4_EVENTS, dg.AssetKey(["staging", "stg_web__events"]),
            dg.AssetKey(["serving", "referral_marts"])} <= selection
    loads = {key for key in every if key.path[0] == "raw"}
    assert loads & selection == {GA4_EVENTS}
    assert dg.AssetKey(["staging", "stg_ehr__service_requests"]) not in selection
    assert len(selection) < len(every)
    # Forced, a changed project, or no good run: everything.
    assert refresh_selection(job, None) is None
    assert refresh_selection(job, pending(world / "landing", world / "warehouse.duckdb",
                                          project="another project")) is None


def test_the_refresh_of_one_file_ends_where_a_full_refresh_does(world: Path) -> None:
    job = _job()
    selection = refresh_selection(job, pending(world / "landing", world / "warehouse.duckdb"))
    result = job.execute_in_process(run_config=run_config(world / "landing", world),
                                    asset_selection=selection)
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert GA4_EVENTS in materialized
    assert not {key for key in materialized if key.path[0] == "raw"} - {GA4_EVENTS}
    with duckdb.connect(str(world / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.web_ga4_events "
                           "where event_date = '20260311'").fetchone()[0] == 1
    after_subset = duckdb_marts(world / "warehouse.duckdb")
    assert pending(world / "landing", world / "warehouse.duckdb").reasons == []

    full = job.execute_in_process(run_config=run_config(world / "landing", world))
    assert full.success
    assert duckdb_marts(world / "warehouse.duckdb").rows == after_subset.rows

    # A later refresh of some models leaves the whole build's manifest as it was, with the
    # compiled SQL of every model (dbt's docs read it), instead of writing its own.
    manifest = build_target_path(world / "warehouse.duckdb") / "manifest.json"
    whole_build = manifest.read_bytes()
    models = [node for node in json.loads(whole_build)["nodes"].values()
              if node["resource_type"] == "model"]
    assert models and all(node.get("compiled_code") for node in models)
    _add_ga4_day(world / "landing" / "web", "20260312")
    selection = refresh_selection(job, pending(world / "landing", world / "warehouse.duckdb"))
    assert job.execute_in_process(run_config=run_config(world / "landing", world),
                                  asset_selection=selection).success
    assert manifest.read_bytes() == whole_build


def test_files_a_run_loaded_without_publishing_are_still_pending(world: Path) -> None:
    # A run that loaded the new day and then failed (before publishing) leaves the file in
    # the ledger; its models were never rebuilt, so the entity is still work to do.
    spec = next(spec for spec in ENTITIES if spec.table == "web_ga4_events")
    with connect(world / "warehouse.duckdb") as con:
        load_entity(con, spec, world / "landing",
                    Pseudonymizer(resolve_key({"RW_DEMO_MODE": "1"})[0]), "a failed run")
    work = pending(world / "landing", world / "warehouse.duckdb")
    assert work.entities == ("web_ga4_events",)
    assert work.reasons == ["1 file(s) for web_ga4_events loaded by a run that did not publish"]
