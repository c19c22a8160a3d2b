"""What the next run does when the previous writer died without releasing the warehouse.

The kernel has already released the dead run's lock; what it may have left behind is a dbt
process still writing, and a Dagster run record that still says STARTED. Raw loads and
publication need nothing: each batch is one DuckDB transaction, and publication builds under
temporary names that the next publish removes (orchestration/serve/publication.py).
"""

from __future__ import annotations

import dagster as dg

from orchestration.runtime.writer_lock import Holder, stop_orphans

UNFINISHED = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
              dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.CANCELING)


def recover_from_dead_writer(dead: Holder, instance: dg.DagsterInstance | None,
                             log: dg.DagsterLogManager | None) -> None:
    """Stop the dead run's dbt child, mark its run failed, and say so in one log line."""
    stopped = stop_orphans(dead)
    marked = False
    if instance is not None:
        run = instance.get_run_by_id(dead.run_id)
        if run is not None and run.status in UNFINISHED:
            instance.report_run_failed(
                run, message="the process died without finishing (found by a later run); "
                             "its lock was reclaimed")
            marked = True
    if log is not None:
        log.warning(f"recovered from {dead.describe()}, which ended without releasing the "
                    f"warehouse: lock reclaimed"
                    + (f", dbt process(es) {', '.join(map(str, stopped))} stopped"
                       if stopped else "")
                    + (", its run marked failed" if marked else ""))
