"""The ingest stage's resources: the warehouse file, the landing folder, the pseudonymization key.

The warehouse resource is every stage's way into the DuckDB file: a run holds its writer
lock from the first step to the last (orchestration/runtime/writer_lock.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from orchestration import settings
from orchestration.ingest.pseudonymize import DEMO_ENV_VAR, Pseudonymizer, resolve_key
from orchestration.ingest.raw_datasets import RawDatasets
from orchestration.ingest.warehouse import connect
from orchestration.runtime.file_modes import keep_files_private
from orchestration.runtime.recovery import recover_from_dead_writer
from orchestration.runtime.writer_lock import Holder, WriterLock

LAUNCH_TAGS = (("dagster/schedule_name", "schedule"), ("dagster/sensor_name", "sensor"),
               ("dagster/backfill", "backfill"), (settings.LAUNCHED_BY_TAG, None))


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file, held by one run at a time (orchestration/runtime/writer_lock.py).

    Every step of a run uses this resource, so a run takes the writer lock before its first
    step and releases it after its last: a second run waits here, in its own process, and no
    step of it ever meets another run's DuckDB lock.
    """

    database_path: str
    # The raw layer's Parquet datasets for other engines; empty: beside the warehouse file.
    raw_dataset_dir: str = ""
    # Whether the loads write them (settings.raw_datasets_wanted: another engine reads them).
    write_raw_datasets: bool = False
    writer_wait_seconds: float = settings.DEFAULT_WRITER_WAIT_SECONDS
    _lock: WriterLock | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator:
        """Hold the writer lock for the whole run; recover from a writer that died."""
        keep_files_private()  # before the run writes anything (docs/privacy.md)
        run = context.run
        if run is None:  # outside a run (a sensor, a direct call): nothing to serialize
            yield self
            return
        lock = WriterLock(self.database_path)
        log = context.log

        def announce(holder: Holder | None) -> None:
            if log is not None:
                who = holder.describe() if holder else "another process"
                log.warning(f"waiting for the warehouse: {who} is writing it; this run "
                            f"starts when it ends (at most {self.writer_wait_seconds:.0f}s)")

        dead = lock.acquire(run.run_id, _launched_by(run), self.writer_wait_seconds, announce)
        try:
            if dead is not None and dead.run_id != run.run_id:
                recover_from_dead_writer(dead, context.instance, log)
            self._lock = lock
            yield self
        finally:
            self._lock = None
            lock.release()

    def record_child(self, pid: int | None, *others: int) -> None:
        """Note child processes (dbt) writing for this run, so a crash can be cleaned up."""
        if self._lock is not None:
            self._lock.record_child(pid, *others)

    def raw_dataset_root(self) -> str:
        """Return the folder of the Parquet raw datasets (what Spark's build registers)."""
        return self.raw_dataset_dir or settings.raw_dataset_dir(self.database_path)

    def raw_datasets(self) -> RawDatasets | None:
        """Return the Parquet raw datasets the loads write, or None when none is wanted."""
        return RawDatasets(self.raw_dataset_root()) if self.write_raw_datasets else None

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a read-write connection that is closed afterwards."""
        con = connect(self.database_path)
        try:
            yield con
        finally:
            con.close()


def _launched_by(run: dg.DagsterRun) -> str:
    for tag, kind in LAUNCH_TAGS:
        if tag in run.tags:
            return f"{kind} {run.tags[tag]}" if kind else run.tags[tag]
    return "Dagster UI or API"


# Runs already warned that they use the demo key: once per run, not once per extract step.
_DEMO_KEY_WARNED: set[str] = set()


class PseudonymizationResource(dg.ConfigurableResource):
    """The keyed hash for patient identifiers; the key itself only ever comes from the env."""

    demo_mode: bool = False

    def pseudonymizer(self, log: dg.DagsterLogManager | None = None,
                      run_id: str = "") -> Pseudonymizer:
        """Return the pseudonymizer, or raise a ConfigurationError when no key is set."""
        environ = dict(os.environ)
        if self.demo_mode:
            environ[DEMO_ENV_VAR] = "1"
        key, is_demo = resolve_key(environ)
        if is_demo and log is not None and run_id not in _DEMO_KEY_WARNED:
            _DEMO_KEY_WARNED.add(run_id)
            log.warning("Pseudonymizing with the DEMO key: fine for generated data, never for "
                        "real patients. Set RW_PSEUDONYMIZATION_KEY for real data.")
        return Pseudonymizer(key)
