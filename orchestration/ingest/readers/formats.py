"""The one place a landing file's format chooses its reader.

Every reader leaves the same thing behind: `_text`, one row per record of the batch, every
column as text, with the record's file, number, hash, its reject reason and detail when the
reader already found it unreadable, and its drift (`columns` or `data_type`) and detail
when it does not fit the entity's contract. The loader types, checks and deduplicates `_text`
the same way whatever the format (orchestration/ingest/loader.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from orchestration.ingest.entities.entity_spec import (
    CRM_CSV,
    FHIR_NDJSON,
    GA4_NDJSON,
    HL7_SIU,
    EntitySpec,
)
from orchestration.ingest.readers import csv_reader
from orchestration.ingest.readers.hl7_reader import stage_hl7
from orchestration.ingest.readers.ndjson_reader import stage_ndjson

if TYPE_CHECKING:
    from orchestration.ingest.landing import LandingFile

ARROW_BATCH_ROWS = 50_000


def stage_batch(con: duckdb.DuckDBPyConnection, spec: EntitySpec,
                batch: list[LandingFile]) -> Callable[[], None]:
    """Make `_text`, every record of the batch as text; return what drops it afterwards.

    NDJSON and HL7 are views over the batch's lines and messages (the classification reads
    it once, so a table would only copy it); CSV records come from a Python parser, in Arrow
    batches, into a table.
    """
    if spec.file_format not in READERS:
        raise ValueError(f"no reader for the file format {spec.file_format.name!r} "
                         f"of {spec.table}")
    return READERS[spec.file_format](con, spec, batch)


def _python_records(read: Callable[[LandingFile, EntitySpec], Iterator[dict[str, object]]]
                    ) -> Callable[[duckdb.DuckDBPyConnection, EntitySpec, list[LandingFile]],
                                  Callable[[], None]]:
    """Return a stager for a format whose records a Python reader yields one by one."""
    def stage(con: duckdb.DuckDBPyConnection, spec: EntitySpec,
              batch: list[LandingFile]) -> Callable[[], None]:
        text_columns = ", ".join(f'"{c.name}" varchar' for c in spec.columns)
        con.execute(f"""create or replace temp table _text (
            _source_file varchar, _record_number bigint, _record_hash varchar,
            _reject_reason varchar, _reject_detail varchar, _drift varchar,
            _drift_detail varchar, {text_columns})""")
        stage_records(con, spec, ((f, read(f, spec)) for f in batch))
        return lambda: con.execute("drop table _text")
    return stage


def stage_records(con: duckdb.DuckDBPyConnection, spec: EntitySpec,
                  files: Iterator[tuple[LandingFile, Iterator[dict[str, object]]]]) -> None:
    """Move Python-parsed records into _text through Arrow batches, never row by row."""
    expressions = ", ".join(f'{c.expression} as "{c.name}"' for c in spec.columns)
    batch: list[dict[str, object]] = []

    def flush() -> None:
        schema = pa.schema([(key, pa.int64() if key == "_record_number" else pa.string())
                            for key in batch[0]])
        con.register("_arrow_batch", pa.Table.from_pylist(batch, schema=schema))
        con.execute(f"""insert into _text select _source_file, _record_number,
            _record_hash, _reject_reason, _reject_detail, _drift, _drift_detail, {expressions}
            from _arrow_batch""")
        con.unregister("_arrow_batch")
        batch.clear()

    for landing_file, records in files:
        for record in records:
            record["_source_file"] = landing_file.relative
            record.setdefault("_drift", None)
            record.setdefault("_drift_detail", None)
            batch.append(record)
            if len(batch) >= ARROW_BATCH_ROWS:
                flush()
    if batch:
        flush()




READERS = {
    FHIR_NDJSON: stage_ndjson,
    GA4_NDJSON: stage_ndjson,
    HL7_SIU: stage_hl7,
    CRM_CSV: _python_records(lambda f, spec: csv_reader.read_records(f.path, spec, f.relative)),
}
