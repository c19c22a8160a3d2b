"""Automation: the refresh job, its daily schedule and the landing-folder sensor."""

from __future__ import annotations

import dagster as dg

from orchestration.automation.jobs import refresh_warehouse_job
from orchestration.automation.schedules import daily_refresh_schedule
from orchestration.automation.sensors import landing_files_sensor


def defs() -> dg.Definitions:
    """Return the job that refreshes everything and what starts it unattended."""
    return dg.Definitions(jobs=[refresh_warehouse_job], schedules=[daily_refresh_schedule],
                          sensors=[landing_files_sensor])
