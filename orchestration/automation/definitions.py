"""Automation: the refresh and EHR export jobs, their schedules and the landing sensor."""

from __future__ import annotations

import dagster as dg

from orchestration.automation.jobs import extract_ehr_job, refresh_warehouse_job
from orchestration.automation.schedules import (
    daily_refresh_schedule,
    nightly_ehr_export_schedule,
)
from orchestration.automation.sensors import landing_files_sensor


def defs() -> dg.Definitions:
    """Return the job that refreshes everything and what starts it unattended."""
    return dg.Definitions(jobs=[refresh_warehouse_job, extract_ehr_job],
                          schedules=[daily_refresh_schedule, nightly_ehr_export_schedule],
                          sensors=[landing_files_sensor])
