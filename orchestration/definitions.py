"""The Dagster code location: this module only assembles what the other modules define."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt_models import dbt_warehouse_assets
from orchestration.assets.extract_load import EXTRACT_ASSETS
from orchestration.assets.publish import serving_copy
from orchestration.jobs import refresh_warehouse_job
from orchestration.quality_checks import SUITE_CHECKS
from orchestration.resources import default_resources
from orchestration.schedules import daily_refresh_schedule
from orchestration.sensors import landing_files_sensor

defs = dg.Definitions(
    assets=[*EXTRACT_ASSETS, dbt_warehouse_assets, serving_copy],
    asset_checks=SUITE_CHECKS,
    jobs=[refresh_warehouse_job],
    schedules=[daily_refresh_schedule],
    sensors=[landing_files_sensor],
    resources=default_resources(),
    # Every job, the UI's ad-hoc materializations included, runs its steps in one process:
    # the run holds the warehouse's writer lock from its first step to its last.
    executor=dg.in_process_executor,
)
