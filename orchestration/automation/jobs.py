"""The job that refreshes the warehouse: every asset, one process, one writer."""

from __future__ import annotations

import dagster as dg

# In-process execution: DuckDB allows one writing process, so the steps of a run take turns
# in one process, and the run holds the writer lock (orchestration/runtime/writer_lock.py) from its
# first step to its last, whoever launched it.
refresh_warehouse_job = dg.define_asset_job(
    name="refresh_warehouse",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Extract and load every source, then build the dbt warehouse on it.",
)
