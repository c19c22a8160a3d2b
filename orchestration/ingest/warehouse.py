"""The DuckDB warehouse file: connections, and the raw schema's tables, ledger and quarantine.

The raw schema holds one table per source entity plus three bookkeeping tables:
`_load_ledger` (one row per landing file processed: its hash, status and counts),
`_quarantine` (one row per record that could not be loaded, with the reason) and
`_file_hashes` (each landing file's content hash and the stamp it was taken at, so an
unchanged file is not read again to be recognized; orchestration/ingest/landing.py). A ledger row
also names the Parquet file its batch's rows were copied to, when the loader writes raw
datasets for other engines (orchestration/ingest/raw_datasets.py). None holds
record content: the landing file and the record number locate the original. A file that
cannot be read as a whole is a ledger row with status `rejected` and the reason in `detail`.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration import settings
from orchestration.ingest.entities.entity_spec import METADATA_COLUMNS, EntitySpec
from orchestration.ingest.landing import KnownHashes, LandingFile
from orchestration.settings import FILE_LOCK_WAIT_SECONDS

RAW_SCHEMA = "raw"
LEDGER_TABLE = f"{RAW_SCHEMA}._load_ledger"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"
FILE_HASHES_TABLE = f"{RAW_SCHEMA}._file_hashes"
SCHEMA_DRIFT_TABLE = f"{RAW_SCHEMA}._schema_drift"

LEDGER_DDL = f"""
create table if not exists {LEDGER_TABLE} (
    source varchar not null,
    entity varchar not null,
    source_file varchar not null,
    file_sha256 varchar not null,
    file_bytes bigint not null,
    status varchar not null,
    duplicate_of varchar,
    rows_read bigint not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    run_id varchar,
    loaded_at timestamptz not null,
    detail varchar,
    raw_dataset_file varchar
)"""

QUARANTINE_DDL = f"""
create table if not exists {QUARANTINE_TABLE} (
    source varchar not null,
    entity varchar not null,
    source_file varchar not null,
    record_number bigint,
    record_hash varchar,
    reason varchar not null,
    detail varchar,
    run_id varchar,
    quarantined_at timestamptz not null
)"""

FILE_HASHES_DDL = f"""
create table if not exists {FILE_HASHES_TABLE} (
    source_file varchar primary key,
    -- The stamp the hash was taken at (landing.file_stamp); -1s: too fresh to be trusted.
    stamp_size bigint not null,
    stamp_mtime_ns bigint not null,
    stamp_ctime_ns bigint not null,
    stamp_inode ubigint not null,
    file_sha256 varchar not null,
    hashed_at timestamptz not null
)"""


# Every schema drift a load met, whatever its policy did with it (entity_spec.DriftPolicy):
# per file, kind (columns, data_type) and detail (field names and types, never values).
SCHEMA_DRIFT_DDL = f"""
create table if not exists {SCHEMA_DRIFT_TABLE} (
    source varchar not null,
    entity varchar not null,
    source_file varchar not null,
    drift varchar not null,
    detail varchar not null,
    action varchar not null,
    records bigint not null,
    run_id varchar,
    noted_at timestamptz not null
)"""


def connect(path: str | Path, read_only: bool = False,
            lock_wait_seconds: float = FILE_LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder), with UTC as the session time zone.

    Our own runs never meet each other here (they hold the writer lock), but a process
    outside them can hold DuckDB's file lock for a while: an analyst's read-only session, or
    a dbt process a killed run left behind. Opening waits for it with backoff rather than
    failing the step at once.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + lock_wait_seconds
    pause = 0.1
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
    con.execute("set TimeZone = 'UTC'")
    con.execute("set memory_limit = ?", [settings.duckdb_memory_limit()])
    return con


def ensure_tables(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> None:
    """Create the raw schema, ledger, quarantine and the entity's table; add new columns."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(LEDGER_DDL)
    # Warehouses from before file rejections were recorded lack the reason column.
    con.execute(f"alter table {LEDGER_TABLE} add column if not exists detail varchar")
    # ... and the Parquet file a batch's rows went to (orchestration/ingest/raw_datasets.py).
    con.execute(f"alter table {LEDGER_TABLE} add column if not exists raw_dataset_file varchar")
    con.execute(QUARANTINE_DDL)
    con.execute(FILE_HASHES_DDL)
    con.execute(SCHEMA_DRIFT_DDL)
    columns = [(c.name, c.sql_type) for c in spec.columns] + list(METADATA_COLUMNS)
    column_sql = ",\n    ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
    con.execute(f"create table if not exists {RAW_SCHEMA}.{spec.table} (\n    {column_sql}\n)")
    present = {row[0] for row in con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?", [RAW_SCHEMA, spec.table]).fetchall()}
    for name, sql_type in columns:
        if name not in present:
            con.execute(f'alter table {RAW_SCHEMA}.{spec.table} add column "{name}" {sql_type}')


def ledger_mark(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the time of the newest load ledger row (None: nothing loaded yet)."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = ? "
                         "and table_name = ?", [RAW_SCHEMA, "_load_ledger"]).fetchone()[0]
    return con.execute(f"select cast(max(loaded_at) as varchar) from {LEDGER_TABLE}"
                       ).fetchone()[0] if exists else None


def known_hashes(con: duckdb.DuckDBPyConnection) -> KnownHashes:
    """Return the landing files' hashes taken before, with the stamps they were taken at."""
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = ? "
                         "and table_name = ?", [RAW_SCHEMA, "_file_hashes"]).fetchone()[0]
    if not exists:  # a warehouse from before the table, opened read-only
        return {}
    return {row[0]: ((row[1], row[2], row[3], row[4]), row[5]) for row in con.execute(
        "select source_file, stamp_size, stamp_mtime_ns, stamp_ctime_ns, stamp_inode, "
        f"file_sha256 from {FILE_HASHES_TABLE}").fetchall()}


def remember_hashes(con: duckdb.DuckDBPyConnection, files: list[LandingFile],
                    known: KnownHashes) -> None:
    """Record the hash and stamp of each file hashed anew (new, changed, or touched)."""
    hashed = [f for f in files if known.get(f.relative) != (f.stamp, f.sha256)]
    if not hashed:
        return
    con.register("_hashed", pa.table({
        "source_file": [f.relative for f in hashed],
        **{name: pa.array([f.stamp[i] for f in hashed], kind) for i, (name, kind) in
           enumerate((("size", pa.int64()), ("mtime_ns", pa.int64()),
                      ("ctime_ns", pa.int64()), ("inode", pa.uint64())))},
        "file_sha256": [f.sha256 for f in hashed]}))
    try:
        con.execute(f"insert or replace into {FILE_HASHES_TABLE} select source_file, size, "
                    "mtime_ns, ctime_ns, inode, file_sha256, now() from _hashed")
    finally:
        con.unregister("_hashed")
