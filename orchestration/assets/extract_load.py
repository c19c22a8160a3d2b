"""One Dagster asset per source entity: load its new landing files into `raw.<table>`."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

from pathlib import Path

import dagster as dg

from orchestration.extract.registry import ENTITIES
from orchestration.extract.spec import EntitySpec
from orchestration.load.loader import load_entity
from orchestration.resources import LandingResource, PseudonymizationResource, WarehouseResource
from orchestration.settings import WAREHOUSE_POOL

FORMAT_KINDS = {"fhir_ndjson": "fhir", "hl7_siu": "hl7", "crm_csv": "csv",
                "ga4_ndjson": "json"}


def raw_asset_key(spec: EntitySpec) -> dg.AssetKey:
    """Return the asset key of an entity's raw table: ["raw", "<source>_<entity>"]."""
    return dg.AssetKey(["raw", spec.table])


def build_extract_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    """Return the asset that extracts and loads one source entity."""

    @dg.asset(
        key=raw_asset_key(spec),
        group_name=f"{spec.source}_extract",
        description=f"{spec.description} Loaded from `{spec.folder}/` of the landing folder.",
        kinds={"duckdb", FORMAT_KINDS[spec.file_format]},
        pool=WAREHOUSE_POOL,
        metadata={"raw_table": f"raw.{spec.table}", "landing_folder": spec.folder},
    )
    def extract_load(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                     landing: LandingResource,
                     pseudonymization: PseudonymizationResource) -> dg.MaterializeResult:
        pseudonymizer = pseudonymization.pseudonymizer(context.log)
        with warehouse.connection() as con:
            report = load_entity(con, spec, Path(landing.landing_dir), pseudonymizer,
                                 context.run.run_id)
            table_rows = con.execute(f"select count(*) from raw.{spec.table}").fetchone()[0]
        for reason, count in sorted(report.reasons.items()):
            context.log.warning(f"{spec.table}: {count} record(s) quarantined: {reason}")
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
            "dagster/row_count": table_rows,
        })

    return extract_load


EXTRACT_ASSETS = [build_extract_asset(spec) for spec in ENTITIES]
