"""The serving copy: published after the marts are built, never after a failed or blocked run."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

import tempfile
from pathlib import Path

import dagster as dg

from orchestration.dbt_project import generate_docs
from orchestration.resources import ServingResource, WarehouseResource
from orchestration.serving import publish, publish_docs_site
from orchestration.settings import WAREHOUSE_POOL

MARTS = ("fct_referrals", "fct_referral_funnel", "fct_referral_leakage",
         "fct_referral_leakage_summary", "dim_referring_providers", "fct_referrer_retention",
         "fct_campaign_performance")


@dg.asset(
    key=["serving", "referral_marts"],
    deps=[dg.AssetKey(["marts", name]) for name in MARTS],
    group_name="serving",
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_POOL,
    description="A read-only copy of every mart for BI tools: a DuckDB file and one Parquet "
                "file per mart, swapped in atomically, with dbt's docs site (docs/bi.md).",
)
def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 serving: ServingResource) -> dg.MaterializeResult:
    """Publish the marts; the previous copy stays in place until the new one is complete."""
    with warehouse.connection() as con:
        publication = publish(con, Path(serving.serving_dir), context.run.run_id)
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as target:
        site = generate_docs(warehouse.database_path, Path(target))
        docs = publish_docs_site(Path(serving.serving_dir), site, context.run.run_id)
    return dg.MaterializeResult(metadata={
        "dbt_docs": dg.MetadataValue.url((docs / "index.html").resolve().as_uri()),
        "serving_database": dg.MetadataValue.path(str(publication.database)),
        "parquet_folder": dg.MetadataValue.path(str(publication.parquet_dir)),
        "tables": publication.tables,
    })
