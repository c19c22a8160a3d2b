"""Reading SIU messages' fields the way the loader does, for tests: DuckDB over `fields_sql`."""

from __future__ import annotations

import re
from datetime import datetime

import duckdb

from orchestration.ingest.readers.hl7_reader import FIELDS, fields_sql, messages_table


def read_fields(messages: list[str]) -> list[dict[str, str | None]]:
    """Return each message's fields by name, with `_reject_reason` and `_reject_detail`."""
    con = duckdb.connect()
    con.register("_messages", messages_table(
        [0] * len(messages), list(range(1, len(messages) + 1)), messages))
    names = [*FIELDS, "_reject_reason", "_reject_detail"]
    rows = con.execute(f"select {', '.join(names)} from ({fields_sql('_messages')}) "
                       "order by _record_number").fetchall()
    return [dict(zip(names, row, strict=True)) for row in rows]


def reference_timestamp(value: str) -> str:
    """What an HL7 DTM must become, by Python's datetime: the loader's SQL is held to it."""
    match = re.fullmatch(r"([0-9]{8})([0-9]{4})?([0-9]{2})?(?:\.[0-9]+)?([+-][0-9]{4})?",
                         value)
    if not match:
        return value
    day, hour_minute, seconds, offset = match.groups()
    hour_minute = hour_minute or "0000"
    try:
        moment = datetime(int(day[:4]), int(day[4:6]), int(day[6:]), int(hour_minute[:2]),
                          int(hour_minute[2:]), int(seconds or 0))
    except ValueError:
        return value
    return moment.isoformat() + (f"{offset[:3]}:{offset[3:]}" if offset else "+00:00")
