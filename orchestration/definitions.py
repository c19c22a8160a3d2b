"""The Dagster code location: this module only assembles what the other modules define."""

from __future__ import annotations

import dagster as dg

from orchestration import settings
from orchestration.assets.dbt_models import dbt_warehouse_assets
from orchestration.assets.extract_load import EXTRACT_ASSETS
from orchestration.assets.publish import serving_copy
from orchestration.jobs import refresh_warehouse_job
from orchestration.progress import progress_logger
from orchestration.quality_checks import suite_checks
from orchestration.resources import default_resources
from orchestration.schedules import daily_refresh_schedule
from orchestration.sensors import landing_files_sensor

# dbt builds on RW_DBT_TARGET. The serving copy and the suites of staged and mart tables
# read DuckDB, so they are part of the DuckDB deployment only (docs/scale-out.md).
DBT_TARGET = settings.dbt_target()
ON_DUCKDB = DBT_TARGET == "duckdb"

defs = dg.Definitions(
    assets=[*EXTRACT_ASSETS, dbt_warehouse_assets, *([serving_copy] if ON_DUCKDB else [])],
    asset_checks=suite_checks(DBT_TARGET),
    jobs=[refresh_warehouse_job],
    schedules=[daily_refresh_schedule],
    sensors=[landing_files_sensor],
    resources=default_resources(),
    # The console logger, and the command line's progress display (off unless configured).
    loggers={**dg.default_loggers(), "progress": progress_logger},
    # Every job, the UI's ad-hoc materializations included, runs its steps in one process:
    # the run holds the warehouse's writer lock from its first step to its last.
    executor=dg.in_process_executor,
)
