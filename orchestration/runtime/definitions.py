"""Runtime: how every run executes: one process, a progress logger, the writer lock.

The writer lock is held by the warehouse resource (orchestration/ingest/ingest_resources.py);
the event log storage is configured in orchestration/dagster.yaml.
"""

from __future__ import annotations

import dagster as dg

from orchestration.runtime.progress import progress_logger


def defs() -> dg.Definitions:
    """Return the executor and the loggers every job runs with."""
    return dg.Definitions(
        # The console logger, and the command line's progress display (off unless configured).
        loggers={**dg.default_loggers(), "progress": progress_logger},
        # Every job, the UI's ad-hoc materializations included, runs its steps in one process:
        # the run holds the warehouse's writer lock from its first step to its last.
        executor=dg.in_process_executor,
    )
