"""One Dagster asset per source entity: load its new landing files into `raw.<table>`."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

from pathlib import Path

import dagster as dg

from orchestration.extract.landing_resource import LandingResource
from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.ingest_resources import PseudonymizationResource, WarehouseResource
from orchestration.ingest.load_checks import load_check_results, load_check_specs
from orchestration.ingest.loader import load_entity


def raw_asset_key(spec: EntitySpec) -> dg.AssetKey:
    """Return the asset key of an entity's raw table: ["raw", "<source>_<entity>"]."""
    return dg.AssetKey(["raw", spec.table])


def build_extract_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    """Return the asset that extracts and loads one source entity."""

    @dg.asset(
        key=raw_asset_key(spec),
        group_name=f"{spec.source}_extract",
        description=f"{spec.description} Loaded from `{spec.folder}/` of the landing folder.",
        kinds={"duckdb", spec.file_format.asset_kind},
        metadata={"raw_table": f"raw.{spec.table}", "landing_folder": spec.folder},
        check_specs=load_check_specs(raw_asset_key(spec)),
    )
    def extract_load(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     landing: LandingResource,
                     pseudonymization: PseudonymizationResource) -> dg.MaterializeResult:
        pseudonymizer = pseudonymization.pseudonymizer(context.log, context.run.run_id)
        with warehouse.connection() as con:
            report = load_entity(con, spec, Path(landing.landing_dir), pseudonymizer,
                                 context.run.run_id, raw_datasets=warehouse.raw_datasets())
            table_rows = con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0]
            checks = load_check_results(con, spec, context.run.run_id)
        for reason, count in sorted(report.reasons.items()):
            context.log.warning(f"{spec.table}: {count} record(s) quarantined: {reason}")
        rejected = {f.file: f.detail for f in report.files if f.status == "rejected"}
        for file, detail in rejected.items():
            context.log.warning(f"{spec.table}: file {file} rejected: {detail}")
        if report.missing_folder:
            context.log.warning(f"{spec.table}: {report.missing_folder}")
        # Every FHIR entity reads the manifests; one reports what none of them loads.
        unloaded = report.unloaded_types if spec.resource_type == "Patient" else {}
        if unloaded:
            context.log.warning(
                "bulk-export manifests list resource types no entity loads (not loaded): "
                + ", ".join(f"{name} ({count} file(s))" for name, count in unloaded.items()))
        duplicate_files = report.files_with("duplicate_file")
        empty_files = report.files_with("empty")
        return dg.MaterializeResult(metadata={
            "rows_read": report.rows_read,
            "rows_loaded": report.rows_loaded,
            "rows_quarantined": report.rows_quarantined,
            "quarantine_reasons": dict(sorted(report.reasons.items())),
            "files_loaded": len(report.files_with("loaded")),
            "files_already_loaded": report.already_loaded,
            "duplicate_files": duplicate_files,
            "empty_files": empty_files,
            "files_rejected": rejected,
            "missing_folder": report.missing_folder or "",
            "unloaded_resource_types": unloaded,
            "dagster/row_count": table_rows,
        }, check_results=checks)

    return extract_load
