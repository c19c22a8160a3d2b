"""The serving copy: published after the marts are built, never after a failed or blocked run."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

import hashlib
import tempfile
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.ingest.ingest_resources import WarehouseResource
from orchestration.ingest.warehouse import ledger_mark
from orchestration.quality.data_docs import build_docs
from orchestration.quality.quality_resource import QualityResource
from orchestration.runtime.run_state import record_success
from orchestration.serve.publication import DOCS_LINK, current_publication, publish
from orchestration.serve.serving_resource import ServingResource
from orchestration.transform.dbt_manifest import project_sha256
from orchestration.transform.dbt_project import docs_from_build, generate_docs

DOCS_FINGERPRINT = ".fingerprint"

MARTS = ("fct_referrals", "fct_referral_funnel", "fct_referral_leakage",
         "fct_referral_leakage_summary", "dim_referring_providers", "fct_referrer_retention",
         "fct_campaign_performance")


class PublicationRefusedError(RuntimeError):
    """The run had a failure, so its marts are not published."""


def run_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Return what failed in this run so far: failed steps and failed error-level checks.

    Blocking checks already keep this step from running after an error; this also catches a
    step that crashed outside any check, which Dagster does not treat as blocking.
    """
    failures = [f"step {record.step_key} failed" for record in instance.all_logs(
        run_id, of_type=dg.DagsterEventType.STEP_FAILURE)]
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.asset_check_evaluation_data
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            failures.append(f"check {evaluation.asset_key.to_user_string()} "
                            f"{evaluation.check_name} failed")
    return failures


def docs_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Return what dbt's docs site depends on: the project (its manifest) and the catalog.

    The site describes models and columns (the project's files) and the catalog, which on
    DuckDB holds each relation's columns, types and comments and no statistics. So a run
    that only adds rows leaves the site as it was: regenerating it for every day's data cost
    about 5 s of a scale-10 run for the same pages.
    """
    digest = hashlib.sha256(project_sha256().encode())
    for query in (
            "select schema_name, table_name, 'table', comment from duckdb_tables() "
            "where database_name = current_database() union all "
            "select schema_name, view_name, 'view', comment from duckdb_views() "
            "where database_name = current_database() and not internal order by all",
            "select schema_name, table_name, column_index, column_name, data_type, comment "
            "from duckdb_columns() where database_name = current_database() "
            "and not internal order by all"):
        digest.update(repr(con.execute(query).fetchall()).encode())
    return digest.hexdigest()


def reusable_docs(serving_dir: Path, fingerprint: str) -> Path | None:
    """Return the current publication's docs site when it was built for the same state."""
    folder = current_publication(serving_dir)
    site = folder / DOCS_LINK if folder else None
    if site is None or not (site / DOCS_FINGERPRINT).is_file():
        return None
    return site if (site / DOCS_FINGERPRINT).read_text() == fingerprint else None


@dg.asset(
    key=["serving", "referral_marts"],
    deps=[dg.AssetKey(["marts", name]) for name in MARTS],
    group_name="serving",
    kinds={"duckdb", "parquet"},
    description="Two read-only copies of the marts, made current all at once (docs/bi.md): "
                "the BI copy (aggregates, month grain, small cells suppressed; DuckDB and "
                "Parquet, group-readable) and the operational copy (every mart, owner-only, "
                "for the dashboard), with quality results, dbt's docs and the Data Docs.",
)
def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 serving: ServingResource, quality: QualityResource) -> dg.MaterializeResult:
    """Publish the marts; the previous copy stays current until the new one is complete."""
    failures = run_failures(context.instance, context.run.run_id)
    if failures:
        raise PublicationRefusedError(
            "not publishing: this run had failures (" + "; ".join(failures) + "); the "
            "previous serving copy stays current")
    data_docs = build_docs(Path(quality.quality_dir)).parent
    serving_dir = Path(serving.serving_dir)
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target:
        with warehouse.connection() as con:
            fingerprint = docs_fingerprint(con)
            site = reusable_docs(serving_dir, fingerprint)
            reused = site is not None
            if not reused:
                site = docs_from_build(con, warehouse.database_path, Path(target))
        if site is None:
            site = generate_docs(warehouse.database_path, Path(target), warehouse.record_child)
        if reused:
            context.log.info("dbt docs unchanged since the current publication: reused")
        else:
            (site / DOCS_FINGERPRINT).write_text(fingerprint)
        with warehouse.connection() as con:
            publication = publish(con, serving_dir, context.run.run_id,
                                  docs_site=site, data_docs_site=data_docs,
                                  suppress_below=serving.suppress_below)
            loaded_through = ledger_mark(con)
    record_success(warehouse.database_path, context.run.run_id, project_sha256(), loaded_through)
    return dg.MaterializeResult(metadata={
        "publication": dg.MetadataValue.path(str(publication.folder)),
        "dbt_docs": dg.MetadataValue.path(str(publication.folder / "dbt_docs" / "index.html")),
        "bi_copy": dg.MetadataValue.path(str(publication.database)),
        "operational_copy": dg.MetadataValue.path(str(publication.operations_database)),
        "parquet_folder": dg.MetadataValue.path(str(publication.parquet_dir)),
        "tables": publication.tables,
    })
