"""The job that refreshes the warehouse: every asset, one process, one writer."""

from __future__ import annotations

import dagster as dg

# In-process execution: DuckDB allows one writing process, so the steps of a run take turns
# in one process, and the run holds the writer lock (orchestration/runtime/writer_lock.py) from its
# first step to its last, whoever launched it.
# Extraction from the systems themselves lands files only; the refresh loads what landed.
EXTRACT_GROUP = "extract_from_systems"

refresh_warehouse_job = dg.define_asset_job(
    name="refresh_warehouse",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(EXTRACT_GROUP),
    executor_def=dg.in_process_executor,
    description="Extract and load every source, then build the dbt warehouse on it.",
)

extract_ehr_job = dg.define_asset_job(
    name="extract_ehr",
    selection=dg.AssetSelection.groups(EXTRACT_GROUP),
    executor_def=dg.in_process_executor,
    description="Export what changed in the EHR (FHIR Bulk Data) into the landing folder; the "
                "landing sensor then refreshes the warehouse.",
)
