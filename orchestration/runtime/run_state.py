"""The last good run of a warehouse: its run, dbt project, engine and load ledger mark.

Written beside the warehouse (`<warehouse>.last_run.json`) when a run's last step succeeds,
atomically; read by the pending-work detection (orchestration/automation/pending_work.py)
to tell whether a refresh would change anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration import settings


@dataclass(frozen=True)
class LastRun:
    """The last good run, the dbt project it built, and the engine it built it on."""

    run_id: str
    project_sha256: str
    engine: str = settings.DEFAULT_DBT_TARGET  # records from before other engines
    # The newest load ledger time its marts include (None: records from before the mark).
    ledger_loaded_through: str | None = None


def state_path(warehouse: str | Path) -> Path:
    """Return the file that records the last good run beside a warehouse."""
    return Path(f"{warehouse}.last_run.json")


def record_success(warehouse: str | Path, run_id: str, project: str,
                   ledger_loaded_through: str | None) -> None:
    """Note that a run succeeded, with the project, the engine and the ledger's mark (atomically).

    On DuckDB the publication records it; on another engine, where nothing is published,
    the dbt step does once the build succeeded.
    """
    path = state_path(warehouse)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"run_id": run_id,
                                     "project_sha256": project,
                                     "engine": settings.dbt_target(),
                                     "ledger_loaded_through": ledger_loaded_through}))
    temporary.replace(path)


def last_run(warehouse: str | Path) -> LastRun | None:
    """Return the last good run, or None when none is recorded (or the record is unreadable)."""
    try:
        return LastRun(**json.loads(state_path(warehouse).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None
