"""The schedules: the EHR export each night, the refresh every morning unless nothing is new."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.automation.jobs import extract_ehr_job, refresh_warehouse_job
from orchestration.automation.pending_work import pending_work
from orchestration.extract.bulk_data_resource import ENV_PREFIX
from orchestration.runtime.writer_lock import writer_busy
from orchestration.transform.dbt_manifest import manifest_is_stale


def has_pending_work(context: dg.ScheduleEvaluationContext) -> bool:
    """Return whether a refresh would change anything (orchestration/automation/pending_work.py).

    While another run writes, the answer cannot be read without waiting for it: the run is
    requested and waits its turn.
    """
    if writer_busy(settings.warehouse_path()) is not None or manifest_is_stale():
        return True
    reasons = pending_work(Path(settings.landing_dir()), settings.warehouse_path())
    context.log.info("refresh: " + "; ".join(reasons) if reasons
                     else "nothing new since the last good run: skipped")
    return bool(reasons)


daily_refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_warehouse_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    should_execute=has_pending_work,
    description="Refresh the warehouse every morning at 06:00 UTC, after overnight exports, "
                "when a landing file is new or the dbt project changed.",
)

nightly_ehr_export_schedule = dg.ScheduleDefinition(
    name="nightly_ehr_export",
    job=extract_ehr_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    # On by itself only where an EHR is configured; a demo warehouse has none.
    default_status=dg.DefaultScheduleStatus.RUNNING if os.environ.get(ENV_PREFIX + "BASE_URL")
    else dg.DefaultScheduleStatus.STOPPED,
    description="Export what changed in the EHR since the last export (FHIR Bulk Data, "
                "_since) at 03:00 UTC, before the morning refresh.",
)
