"""The daily refresh schedule: every morning, unless nothing new has arrived."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration import settings
from orchestration.automation.jobs import refresh_warehouse_job
from orchestration.automation.pending_work import pending_work
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
