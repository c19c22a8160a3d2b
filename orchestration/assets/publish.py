"""The serving copy: published after the marts are built, never after a failed or blocked run."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

from pathlib import Path

import dagster as dg

from orchestration.resources import ServingResource, WarehouseResource
from orchestration.serving import publish
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
                "file per mart, swapped in atomically (docs/bi.md).",
)
def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 serving: ServingResource) -> dg.MaterializeResult:
    """Publish the marts; the previous copy stays in place until the new one is complete."""
    with warehouse.connection() as con:
        publication = publish(con, Path(serving.serving_dir), context.run.run_id)
    return dg.MaterializeResult(metadata={
        "serving_database": dg.MetadataValue.path(str(publication.database)),
        "parquet_folder": dg.MetadataValue.path(str(publication.parquet_dir)),
        "tables": publication.tables,
    })
