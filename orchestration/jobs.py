"""The job that refreshes the warehouse: every asset, one process, one writer."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import WRITER_TAG

# In-process execution: DuckDB allows one writing process, so steps of a run take turns in
# one process, and the run tag below lets the instance's run queue admit one writer at a time.
refresh_warehouse_job = dg.define_asset_job(
    name="refresh_warehouse",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    tags=WRITER_TAG,
    description="Extract and load every source, then build the dbt warehouse on it.",
)
