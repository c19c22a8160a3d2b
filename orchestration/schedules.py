"""The daily refresh schedule."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import refresh_warehouse_job

daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_warehouse_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh the warehouse every morning at 06:00 UTC, after overnight exports.",
)
