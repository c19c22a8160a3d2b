"""One writing run at a time: an operating-system lock on a file beside the warehouse.

DuckDB lets one process write a database file. Dagster's pools and run-tag limits were the
first answer and failed an operator twice: a run killed while holding a pool slot kept it,
so every later run waited forever, and the run-tag limit does not apply to in-process runs.
A `flock` on `<warehouse>.lock` is one mechanism for every way a run starts (CLI, UI,
schedule, sensor, backfill), because every run takes it before its first step, and the
kernel releases it when the holding process dies, however it dies (SIGKILL, OOM, power).

The lock file also says who holds it (run id, pid, host, start time, how it started, and the
pid of a dbt child while one runs), so a waiting run can name the running one, and the next
run can tell that the previous holder died without releasing it and clean up after it.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the warehouse: enough to name it in a message."""

    run_id: str
    pid: int
    host: str
    started_at: str
    launched_by: str
    child_pids: tuple[int, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """Return a one-line description: run, process, host, start time."""
        return (f"run {self.run_id} ({self.launched_by}, pid {self.pid} on {self.host}, "
                f"started {self.started_at})")


class WriterBusyError(RuntimeError):
    """Another run holds the warehouse and did not finish within the wait allowed."""

    def __init__(self, holder: Holder | None, waited: float) -> None:
        who = holder.describe() if holder else "another process"
        super().__init__(
            f"the warehouse is being written by {who}; gave up after waiting {waited:.0f}s. "
            "Let it finish, or stop it (docs/runbook.md, 'A run is waiting for another').")
        self.holder = holder


def lock_path(warehouse_path: str | Path) -> Path:
    """Return the lock file of a warehouse: the database path plus `.lock`."""
    return Path(f"{warehouse_path}.lock")


def read_holder(path: Path) -> Holder | None:
    """Return who the lock file says holds (or last held) the lock, if anyone."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    try:
        data = json.loads(text)
        data["child_pids"] = tuple(data.get("child_pids", ()))
        return Holder(**data)
    except (ValueError, TypeError):
        return None  # a torn write by a process that died mid-write: nobody to name


class WriterLock:
    """The exclusive lock a run holds from its first step to its last."""

    def __init__(self, warehouse_path: str | Path) -> None:
        self.path = lock_path(warehouse_path)
        self._handle = None
        self.holder: Holder | None = None

    @property
    def held(self) -> bool:
        """Return whether this object holds the lock now."""
        return self._handle is not None

    def acquire(self, run_id: str, launched_by: str, wait_seconds: float,
                on_wait: Callable[[Holder | None], None] | None = None) -> Holder | None:
        """Take the lock, waiting up to ``wait_seconds``; return a dead previous holder.

        The return value is the record a previous holder left behind when it died without
        releasing (None after a clean release): the caller cleans up after it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        started = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= wait_seconds:
                    handle.close()
                    raise WriterBusyError(read_holder(self.path), waited) from None
                if not told and on_wait is not None:
                    on_wait(read_holder(self.path))
                    told = True
                time.sleep(POLL_SECONDS)
        self._handle = handle
        previous = read_holder(self.path)
        self.holder = Holder(run_id=run_id, pid=os.getpid(), host=socket.gethostname(),
                             started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                             launched_by=launched_by)
        self._write(self.holder)
        return previous

    def record_child(self, pid: int | None, *others: int) -> None:
        """Note (or, with None, forget) the child processes that write on this run's behalf."""
        if self.holder is None:
            return
        children = (pid, *others) if pid is not None else ()
        self.holder = Holder(**{**asdict(self.holder), "child_pids": children})
        self._write(self.holder)

    def release(self) -> None:
        """Empty the record and release the lock (a clean end leaves nothing to reclaim)."""
        if self._handle is None:
            return
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.flush()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None
        self.holder = None

    def _write(self, holder: Holder) -> None:
        assert self._handle is not None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(asdict(holder)))
        self._handle.flush()
        os.fsync(self._handle.fileno())


def writer_busy(warehouse_path: str | Path) -> Holder | bool | None:
    """Return who holds the warehouse now (True when unnamed), or None when it is free."""
    path = lock_path(warehouse_path)
    if not path.exists():
        return None
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path) or True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def stop_orphans(holder: Holder, grace_seconds: float = 10.0) -> list[int]:
    """Stop the dbt children a dead holder left running; return the pids stopped.

    A dbt subprocess outlives a killed parent and keeps the DuckDB file locked. Only a live
    process whose command line still names dbt is stopped, so a recycled pid is left alone.
    """
    stopped = []
    for pid in holder.child_pids:
        if not _is_dbt_process(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while _is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _is_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(pid)
    return stopped


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/stat")
    try:  # a zombie is dead for our purposes
        return status.read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def _is_dbt_process(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, PermissionError):
        return False
    return _is_alive(pid) and any(b"dbt" in part for part in command[:3])
