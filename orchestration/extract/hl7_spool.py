"""Durable batches of HL7 messages: a message is on disk before it is acknowledged.

Messages are appended to an open batch in ``<landing>/.extract/mllp/`` (outside what the loader
and the landing sensor read). After each append the batch is fsynced and its committed length
written, fsynced too, to a sidecar; only then may the receiver answer ``AA``. A batch is rolled
into ``scheduling/`` by an atomic rename when it reaches a size or an age. A receiver killed
at any moment leaves an open batch whose committed length says which bytes were acknowledged:
the next start cuts any torn tail and rolls the rest into the landing, so every acknowledged
message lands once, and none that was torn does.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from orchestration.extract.durable_files import fsync_folder

SPOOL = Path(".extract") / "mllp"
SCHEDULING_FOLDER = "scheduling"
OPEN_SUFFIX = ".hl7.open"
COMMITTED_SUFFIX = ".committed"


class SpoolBusy(Exception):
    """Another receiver holds this landing folder's spool."""


class HL7Spool:
    """The open batch, its committed length, and the rolls into the landing."""

    def __init__(self, landing: Path, roll_bytes: int = 1 << 20,
                 roll_seconds: float = 60.0) -> None:
        self.landing = landing
        self.folder = landing / SPOOL
        self.folder.mkdir(parents=True, exist_ok=True)
        self.target = landing / SCHEDULING_FOLDER
        self.target.mkdir(parents=True, exist_ok=True)
        self.roll_bytes = roll_bytes
        self.roll_seconds = roll_seconds
        self._lock = threading.Lock()
        self._holder = (self.folder / "receiver.lock").open("a")
        try:
            fcntl.flock(self._holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._holder.close()
            raise SpoolBusy(f"another receiver is writing {self.folder}") from None
        self._batch: Path | None = None
        self._out = None
        self._committed = 0
        self._opened_at = 0.0
        self._sequence = 0
        self.messages_committed = 0
        self.batches_rolled = 0
        self.recovered = self._recover()

    # -- writing ------------------------------------------------------------------------------
    def append(self, message: bytes) -> None:
        """Make one message durable; return only once it would survive a crash."""
        self.append_many([message])

    def append_many(self, messages: list[bytes]) -> None:
        """Make messages durable together: one write and one pair of fsyncs for all of them.

        Messages that arrive on several connections while a commit is on disk wait for the
        next one together (group commit), so the fsyncs are shared, not repeated per message.
        """
        data = b"".join(m if m.endswith(b"\r") else m + b"\r" for m in messages)
        with self._lock:
            if self._out is None:
                self._open()
            self._out.write(data)
            self._out.flush()
            os.fsync(self._out.fileno())
            self._committed += len(data)
            _write_committed(self._batch, self._committed)
            self.messages_committed += len(messages)
            if self._committed >= self.roll_bytes:
                self._roll()

    def roll_if_old(self) -> None:
        """Roll the open batch into the landing once it has been open ``roll_seconds``."""
        with self._lock:
            if self._out is not None and self._committed and \
                    time.monotonic() - self._opened_at >= self.roll_seconds:
                self._roll()

    def close(self) -> None:
        """Roll what is committed and let another receiver have the spool."""
        with self._lock:
            if self._out is not None and self._committed:
                self._roll()
            elif self._out is not None:
                self._discard_open()
        fcntl.flock(self._holder, fcntl.LOCK_UN)
        self._holder.close()

    # -- inside -------------------------------------------------------------------------------
    def _open(self) -> None:
        self._sequence += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self._batch = self.folder / f"mllp_{stamp}_{os.getpid()}_{self._sequence:04d}{OPEN_SUFFIX}"
        self._out = self._batch.open("ab")
        self._committed = 0
        self._opened_at = time.monotonic()
        _write_committed(self._batch, 0)
        fsync_folder(self.folder)

    def _roll(self) -> None:
        """Rename the open batch into the landing (it is durable already) and start anew."""
        assert self._out is not None and self._batch is not None
        self._out.close()
        _land(self._batch, self.target)
        self._out, self._batch = None, None
        self.batches_rolled += 1

    def _discard_open(self) -> None:
        assert self._out is not None and self._batch is not None
        self._out.close()
        self._batch.unlink()
        _committed_path(self._batch).unlink(missing_ok=True)
        self._out, self._batch = None, None

    def _recover(self) -> int:
        """Land the batches a killed receiver left open; return the messages' bytes kept."""
        kept = 0
        for batch in sorted(self.folder.glob(f"*{OPEN_SUFFIX}")):
            committed = _read_committed(batch)
            with batch.open("r+b") as out:
                out.truncate(min(committed, batch.stat().st_size))
                out.flush()
                os.fsync(out.fileno())
            if committed:
                kept += committed
                _land(batch, self.target)
            else:
                batch.unlink()
                _committed_path(batch).unlink(missing_ok=True)
        return kept


def _land(batch: Path, target: Path) -> None:
    name = batch.name.removesuffix(OPEN_SUFFIX) + ".hl7"
    os.replace(batch, target / name)
    fsync_folder(target)
    _committed_path(batch).unlink(missing_ok=True)


def _committed_path(batch: Path) -> Path:
    return batch.with_name(batch.name + COMMITTED_SUFFIX)


def _write_committed(batch: Path, length: int) -> None:
    """Record how many bytes of ``batch`` are acknowledged, durably, in place."""
    path = _committed_path(batch)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.pwrite(descriptor, f"{length:020d}".encode(), 0)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_committed(batch: Path) -> int:
    try:
        text = _committed_path(batch).read_text().strip()
    except FileNotFoundError:
        return 0
    return int(text) if text.isdigit() else 0
