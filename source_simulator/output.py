"""Landing-file writers that number records, inject structural defects and log ground truth.

Every record the simulator emits passes through a `RecordFile`, which knows the record's
position in its file (line, HL7 message, or CSV line) at the moment it is written. That is
where structural defects (unparseable records, duplicate records) are injected, and where
each defect is written to the ground-truth log with the file and position a loader will see.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


class TruthLog:
    """Append-only JSON Lines log of every defect the simulator injected."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = path.open("w", encoding="utf-8")

    def add(self, defect: str, source: str, entity: str, file: str | None,
            record_number: int | None, record_id: str | None = None, **extra: Any) -> None:
        """Record one injected defect."""
        entry = {"defect": defect, "source": source, "entity": entity, "file": file,
                 "record_number": record_number, "record_id": record_id, **extra}
        self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")

    def close(self) -> None:
        """Flush and close the log."""
        self._handle.close()


@dataclass
class Injector:
    """Decides, from its own seeded stream, which records get structural defects."""

    rng: random.Random
    unparseable_rate: float
    duplicate_rate: float

    def corrupt(self) -> bool:
        """Return whether the next record should be made unparseable."""
        return self.unparseable_rate > 0 and self.rng.random() < self.unparseable_rate

    def duplicate(self) -> bool:
        """Return whether the next record should be delivered twice."""
        return self.duplicate_rate > 0 and self.rng.random() < self.duplicate_rate


@dataclass
class FileFormat:
    """How one landing format separates records and how it breaks one."""

    separator: str
    corrupt: Callable[[str], str]
    unparseable_reason: str
    first_record_number: int = 1


def _truncate_json(text: str) -> str:
    return text[: max(1, len(text) // 2)]


def _truncate_hl7(text: str) -> str:
    # A message cut off inside its MSH segment: the message type (MSH-9) never arrives.
    return text[:16]


def _extra_csv_field(text: str) -> str:
    return text + ",stray"


NDJSON = FileFormat("\n", _truncate_json, "unparseable_json")
HL7_BATCH = FileFormat("\r", _truncate_hl7, "unparseable_message")
CSV_ROWS = FileFormat("\n", _extra_csv_field, "malformed_csv_row", first_record_number=2)


@dataclass
class RecordFile:
    """One landing file, written record by record with positions and defects logged."""

    path: Path
    relative: str
    source: str
    entity: str
    fmt: FileFormat
    truth: TruthLog
    injector: Injector | None
    header: str | None = None
    trailer: Callable[[int], str] | None = None
    # A file-wide defect (an unexpected extra column): applied to and logged for every record.
    row_transform: Callable[[str], str] | None = None
    file_defect: str | None = None
    _handle: IO[str] | None = None
    _number: int = 0
    _copies: list[tuple[str, int, str | None]] = field(default_factory=list)

    def _open(self) -> IO[str]:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            if self.header is not None:
                self._handle.write(self.header + self.fmt.separator)
            self._number = self.fmt.first_record_number - 1
        return self._handle

    def write(self, text: str, record_id: str | None, defects: tuple[str, ...] = ()) -> None:
        """Write one record; business-rule ``defects`` already applied to it are logged."""
        handle = self._open()
        self._number += 1
        if self.row_transform is not None:
            text = self.row_transform(text)
        if self.file_defect is not None:
            defects = (*defects, self.file_defect)
        injector = self.injector if not defects else None
        if injector is not None and injector.corrupt():
            text = self.fmt.corrupt(text)
            self.truth.add(self.fmt.unparseable_reason, self.source, self.entity, self.relative,
                           self._number, record_id)
        elif injector is not None and injector.duplicate():
            self._copies.append((text, self._number, record_id))
        handle.write(text + self.fmt.separator)
        for defect in defects:
            self.truth.add(defect, self.source, self.entity, self.relative, self._number,
                           record_id)

    @property
    def count(self) -> int:
        """Return the number of records written so far, duplicates included."""
        return self._number - self.fmt.first_record_number + 1

    def close(self) -> None:
        """Write the duplicate deliveries at the end of the file, then any trailer, and close."""
        if self._handle is None:
            return
        for text, original, record_id in self._copies:
            self._number += 1
            self._handle.write(text + self.fmt.separator)
            self.truth.add("duplicate_record", self.source, self.entity, self.relative,
                           self._number, record_id, duplicate_of=f"{self.relative}:{original}")
        if self.trailer is not None:
            self._handle.write(self.trailer(self.count) + self.fmt.separator)
        self._handle.close()


@dataclass
class Spooled:
    """A record waiting for its period's file: sort key, text, id and business defects."""

    sort_key: tuple
    text: str
    record_id: str | None
    defects: tuple[str, ...] = ()


class PeriodSpool:
    """Buffers records by period (day or month) and writes each period's file once it is over.

    The simulation moves forward one day at a time, and every event it schedules lies on or
    after the current day; so a period strictly before the current day is complete, and its
    file can be sorted and written. Memory holds only periods that can still change.
    """

    def __init__(self, open_file: Callable[[str], RecordFile]) -> None:
        self._open_file = open_file
        self._pending: dict[str, list[Spooled]] = {}

    def add(self, period: str, record: Spooled) -> None:
        """Queue a record for the file of ``period``."""
        self._pending.setdefault(period, []).append(record)

    def flush_before(self, period: str) -> list[RecordFile]:
        """Write every period that sorts before ``period``; return the files written."""
        done = sorted(p for p in self._pending if p < period)
        return [self._write(p) for p in done]

    def flush_all(self) -> list[RecordFile]:
        """Write every remaining period."""
        return [self._write(p) for p in sorted(self._pending)]

    def _write(self, period: str) -> RecordFile:
        records = sorted(self._pending.pop(period), key=lambda r: r.sort_key)
        record_file = self._open_file(period)
        for record in records:
            record_file.write(record.text, record.record_id, record.defects)
        record_file.close()
        return record_file


def redeliver(truth: TruthLog, landing: Path, original: RecordFile, copy_relative: str) -> None:
    """Deliver a whole file a second time under another name, as feeds do after a retry."""
    target = landing / copy_relative
    shutil.copyfile(original.path, target)
    truth.add("duplicate_file", original.source, original.entity, copy_relative, None,
              duplicate_of=original.relative, records=original.count)
