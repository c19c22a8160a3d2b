"""A progress display for `referral-warehouse run`: one line per finished step, as it ends.

The command line sends dbt's per-node lines to a log file and prints a summary at the end;
in between, this Dagster logger prints what finished and when, on the terminal the command
was started from. A line names the step, the seconds since the run started, and counts
(rows loaded, tables built, checks run): never record content.

Dagster hands every logger its structured events; this one reads step starts, successes and
failures, materializations and check evaluations, and ignores the rest. It is off unless the
run config turns it on (`loggers: {progress: {config: {enabled: true}}}`), so runs launched
from the UI, by the schedule or by tests print nothing extra.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from typing import TextIO

import dagster as dg

STEP_START = dg.DagsterEventType.STEP_START.value
STEP_SUCCESS = dg.DagsterEventType.STEP_SUCCESS.value
STEP_FAILURE = dg.DagsterEventType.STEP_FAILURE.value
MATERIALIZATION = dg.DagsterEventType.ASSET_MATERIALIZATION.value
CHECK = dg.DagsterEventType.ASSET_CHECK_EVALUATION.value


class ProgressHandler(logging.Handler):
    """Print a line when a step ends, with what it materialized and checked.

    The extract-load step loads many tables: each gets its own line as it is loaded, with its
    rows and the seconds its load took (loads run side by side, so those seconds are the
    table's own, not the time since the line before); the step's line counts its checks.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.started = time.monotonic()
        self.materialized: Counter[str] = Counter()
        self.checked: Counter[str] = Counter()
        self.rows_loaded: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        """Count a step's materializations and checks; print when a table or the step ends."""
        event = getattr(record, "dagster_event", None)
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == MATERIALIZATION:
            self.materialized[step] += 1
            materialization = event.event_specific_data.materialization
            metadata = materialization.metadata
            if "rows_loaded" in metadata:
                rows = int(metadata["rows_loaded"].value)
                self.rows_loaded[step] += rows
                took = metadata.get("load_seconds")
                self._print("__".join(materialization.asset_key.path),
                            f"{rows:,} rows loaded" + (
                                f" in {float(took.value):.1f}s" if took is not None else ""))
        elif kind == CHECK:
            self.checked[step] += 1
        elif kind in (STEP_SUCCESS, STEP_FAILURE):
            self._print(step, "FAILED" if kind == STEP_FAILURE else self._describe(step))

    def _describe(self, step: str) -> str:
        parts = []
        if step in self.rows_loaded:
            parts.append(f"{self.rows_loaded[step]:,} rows loaded")
        elif self.materialized[step] > 1:
            parts.append(f"{self.materialized[step]} tables, views and seeds built")
        if self.checked[step]:
            count = self.checked[step]
            parts.append(f"{count} check{'s' if count > 1 else ''}")
        return ", ".join(parts) or "done"

    def _print(self, step: str, what: str) -> None:
        seconds = time.monotonic() - self.started
        self.stream.write(f"  {seconds:6.1f}s  {step:44} {what}\n")
        self.stream.flush()


@dg.logger(config_schema={"enabled": dg.Field(bool, default_value=False)},
           description="One line per finished step on the terminal (the command line's "
                       "progress display).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    """Return a logger that prints step progress when enabled, else one that prints nothing."""
    logger = logging.Logger("referral_warehouse_progress", level=logging.DEBUG)
    if init_context.logger_config["enabled"]:
        # The command line redirects sys.stdout to dbt's log file: write to the terminal.
        logger.addHandler(ProgressHandler(sys.__stdout__))
    return logger
