"""CRM CSV exports: header checks, row parsing with line numbers, and column declarations.

Every entity has a documented column list. A file missing one of those columns cannot be
loaded and raises an error naming the file and the columns. A file with a column the spec does
not know is schema drift: each of its rows says so, and the entity's drift policy decides
(quarantine the row, load it without the column, or reject the file). A row with the wrong
number of fields is quarantined (`malformed_csv_row`) with its line number.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.landing import safe_name
from orchestration.ingest.load_errors import SourceFileError

FIELD_SIZE_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(FIELD_SIZE_LIMIT)


def expected_columns(spec: EntitySpec) -> list[str]:
    """Return the columns an export file of this entity must have, in order."""
    return spec.extra["expected_columns"].split(",")


def read_records(path: Path, spec: EntitySpec, relative: str) -> Iterator[dict[str, object]]:
    """Yield one record per data row: line number, hash, reject reason and fields.

    Whatever the bytes, this never raises on a row: bytes that are not UTF-8, a NUL, a field
    over the size limit, a wrong number of fields and an open quote that would swallow the
    lines after it each quarantine the one record, numbered by its first physical line, and
    reading goes on with the next line. Only a header without the spec's columns rejects the
    file (SourceFileError).
    """
    expected = expected_columns(spec)
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    lines = list(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    source = _Lines(lines)
    header = _read_header(source, spec, relative, expected)
    if header is None:
        return
    unexpected = [name for name in header if name not in expected]
    # A column the contract does not declare is drift; the entity's policy decides what it
    # costs (the loader applies it: orchestration/ingest/loader.py).
    drift = {"_drift": "columns" if unexpected else None,
             "_drift_detail": f"column(s) {_names(unexpected)} are not in the CRM {spec.name} "
                              "export contract" if unexpected else None}
    positions = [header.index(name) for name in expected]
    reader = csv.reader(source)
    while True:
        first = source.position
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            source.position, reader = first + 1, csv.reader(source)
            yield _rejected(first + 1, "", expected, "malformed_csv_row",
                            f"the CSV parser cannot read this line ({_csv_problem(error)})")
            continue
        number, spanned = first + 1, source.position - first
        raw = "\x1f".join(fields)
        if not fields:
            continue
        if len(fields) != len(header) and spanned > 1:
            # An open quote swallowed the lines after it: quarantine the line it opened on
            # and read the following lines again, each on its own.
            source.position, reader = first + 1, csv.reader(source)
            yield _rejected(number, raw, expected, "unbalanced_quote",
                            f"a quote opened on line {number} is not closed before line "
                            f"{first + spanned}; the lines after it are read on their own")
        elif _SURROGATE.search(raw):
            yield _rejected(number, raw, expected, "invalid_encoding",
                            "the row is not valid UTF-8 text")
        elif len(fields) != len(header):
            yield _rejected(number, raw, expected, "malformed_csv_row",
                            f"{len(fields)} fields where the header has {len(header)}")
        else:
            record: dict[str, object] = {"_record_number": number, "_record_hash": _hash(raw),
                                         "_reject_reason": None, "_reject_detail": None,
                                         **drift}
            for name, position in zip(expected, positions, strict=True):
                record[name] = fields[position].strip() or None
            yield record


_SURROGATE = re.compile("[\udc80-\udcff]")


class _Lines:
    """The file's physical lines, read one at a time, with the position of the next one."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.position >= len(self.lines):
            raise StopIteration
        self.position += 1
        return self.lines[self.position - 1]


def _read_header(source: _Lines, spec: EntitySpec, relative: str,
                 expected: list[str]) -> list[str] | None:
    try:
        header = next(csv.reader(source), None)
    except csv.Error as error:
        raise SourceFileError(relative, f"the header line cannot be read "
                                        f"({_csv_problem(error)})") from None
    if header is None:
        return None
    header = [name.strip() for name in header]
    missing = [name for name in expected if name not in header]
    if missing:
        raise SourceFileError(relative, f"the header lacks required column(s) "
                              f"{', '.join(missing)} of the CRM {spec.name} export")
    return header


def _rejected(number: int, raw: str, expected: list[str], reason: str,
              detail: str) -> dict[str, object]:
    return {"_record_number": number, "_record_hash": _hash(raw), "_reject_reason": reason,
            "_reject_detail": detail, **dict.fromkeys(expected)}


def _csv_problem(error: csv.Error) -> str:
    """Return the kind of CSV error, never the text it was reading."""
    message = str(error)
    if "NUL" in message:
        return "a NUL byte"
    if "field larger than field limit" in message:
        return f"a field over {FIELD_SIZE_LIMIT:,} characters"
    return "malformed quoting"


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(safe_name(name, 40) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", errors="surrogateescape")).hexdigest()
