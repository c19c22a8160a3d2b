"""The raw tables as Dagster assets: one asset per source entity, loaded in one step, two at once.

Each entity is its own asset, in its source's group, with its own load checks, and a run or
a user can select any of them; a run loads the selected ones in one step, side by side on
both cores (orchestration/ingest/concurrent_loads.py). One step per entity cost a Dagster
step each (21 in a run) and ran them one after another.
"""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.extract.landing_resource import LandingResource
from orchestration.ingest.concurrent_loads import each_on_its_own_cursor, largest_first, prepare
from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.ingest_resources import PseudonymizationResource, WarehouseResource
from orchestration.ingest.load_checks import load_check_results, load_check_specs
from orchestration.ingest.loader import LoadReport, load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.raw_datasets import RawDatasets

STEP_NAME = "extract_load"


def raw_asset_key(spec: EntitySpec) -> dg.AssetKey:
    """Return the asset key of an entity's raw table: ["raw", "<source>_<entity>"]."""
    return dg.AssetKey(["raw", spec.table])


def _asset_spec(spec: EntitySpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        raw_asset_key(spec), group_name=f"{spec.source}_extract",
        description=f"{spec.description} Loaded from `{spec.folder}/` of the landing folder.",
        kinds={"duckdb", spec.file_format.asset_kind},
        metadata={"raw_table": f"raw.{spec.table}", "landing_folder": spec.folder})


def build_extract_assets(entities: tuple[EntitySpec, ...]) -> dg.AssetsDefinition:
    """Return the assets that extract and load every source entity, one step for all."""

    @dg.multi_asset(
        name=STEP_NAME,
        specs=[_asset_spec(spec) for spec in entities],
        check_specs=[check for spec in entities
                     for check in load_check_specs(raw_asset_key(spec))],
        can_subset=True,
    )
    def extract_load(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     landing: LandingResource,
                     pseudonymization: PseudonymizationResource) -> Iterator:
        run_id = context.run.run_id
        landing_dir = Path(landing.landing_dir)
        selected = largest_first(landing_dir, [
            spec for spec in entities if raw_asset_key(spec) in context.selected_asset_keys])
        pseudonymizer = pseudonymization.pseudonymizer(context.log, run_id)
        raw_datasets = warehouse.raw_datasets()
        failures: list[BaseException] = []
        with warehouse.connection() as con:
            prepare(con, selected, pseudonymizer, run_id)

            def load(cursor: duckdb.DuckDBPyConnection,
                     spec: EntitySpec) -> tuple[LoadReport, dg.MaterializeResult]:
                return _load(cursor, spec, landing_dir, pseudonymizer, run_id, raw_datasets)

            for spec, outcome in each_on_its_own_cursor(con, selected, load):
                if isinstance(outcome, BaseException):
                    context.log.error(f"{spec.table}: the load failed: "
                                      f"{type(outcome).__name__}")
                    failures.append(outcome)
                    continue
                report, materialization = outcome
                _log_problems(context, report)
                yield materialization
        if failures:  # every other entity is loaded and reported; the step still fails
            raise failures[0]

    return extract_load


def _load(con: duckdb.DuckDBPyConnection, spec: EntitySpec, landing: Path,
          pseudonymizer: Pseudonymizer, run_id: str,
          raw_datasets: RawDatasets | None) -> tuple[LoadReport, dg.MaterializeResult]:
    """Load one entity on its cursor and evaluate its load checks; return what happened."""
    started = time.perf_counter()
    report = load_entity(con, spec, landing, pseudonymizer, run_id, raw_datasets=raw_datasets)
    seconds = time.perf_counter() - started
    table_rows = con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0]
    checks = load_check_results(con, spec, raw_asset_key(spec), run_id)
    return report, dg.MaterializeResult(asset_key=raw_asset_key(spec),
                                        metadata=_metadata(spec, report, table_rows, seconds),
                                        check_results=checks)


def _metadata(spec: EntitySpec, report: LoadReport, table_rows: int,
              seconds: float) -> dict[str, object]:
    # Every FHIR entity reads the manifests; one reports what none of them loads.
    unloaded = report.unloaded_types if spec.resource_type == "Patient" else {}
    return {
        "rows_read": report.rows_read,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "quarantine_reasons": dict(sorted(report.reasons.items())),
        "files_loaded": len(report.files_with("loaded")),
        "files_already_loaded": report.already_loaded,
        "duplicate_files": report.files_with("duplicate_file"),
        "empty_files": report.files_with("empty"),
        "files_rejected": {f.file: f.detail for f in report.files if f.status == "rejected"},
        "missing_folder": report.missing_folder or "",
        "unloaded_resource_types": unloaded,
        "load_seconds": round(seconds, 3),
        "dagster/row_count": table_rows,
    }


def _log_problems(context: dg.AssetExecutionContext, report: LoadReport) -> None:
    """Say what an operator must look at: quarantined records, rejected files, no delivery."""
    table = report.spec.table
    for reason, count in sorted(report.reasons.items()):
        context.log.warning(f"{table}: {count} record(s) quarantined: {reason}")
    for outcome in report.files:
        if outcome.status == "rejected":
            context.log.warning(f"{table}: file {outcome.file} rejected: {outcome.detail}")
    if report.missing_folder:
        context.log.warning(f"{table}: {report.missing_folder}")
    if report.unloaded_types and report.spec.resource_type == "Patient":
        context.log.warning(
            "bulk-export manifests list resource types no entity loads (not loaded): "
            + ", ".join(f"{name} ({count} file(s))"
                        for name, count in report.unloaded_types.items()))
