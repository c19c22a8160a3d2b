"""The raw layer as Parquet datasets, so engines other than DuckDB read the same raw rows.

The DuckDB warehouse holds the raw tables; Spark, and Postgres through a scripted COPY, read
these folders instead (docs/scale-out.md). Each raw table has one folder, and each loaded
batch adds one file to it, never rewriting another:

    <raw dataset folder>/<table>/batch-<id>.parquet   the rows one batch loaded
    <raw dataset folder>/<table>/batch-backfill-<id>.parquet  the rows loaded before the
                                                         datasets were wanted (`backfill`)
    <raw dataset folder>/<table>/schema-<hash>.parquet  no rows: the table's columns, so an
                                                         engine can read a table nothing has
                                                         been loaded into yet

A batch file is written under a hidden temporary name and renamed into place inside the
batch's DuckDB transaction, before the ledger row naming it commits. So a crash while writing
leaves only a hidden file no reader lists (`*.parquet` does not match it), and a crash after
the rename leaves a file no ledger row names. Before loading, `sweep` deletes both: the
folder always holds exactly the batches the ledger counts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import duckdb

from orchestration.ingest.warehouse import LEDGER_TABLE, RAW_SCHEMA

BATCH_PREFIX = "batch-"
BACKFILL_PREFIX = "batch-backfill-"  # a batch too: the rows loaded before datasets were wanted
SCHEMA_PREFIX = "schema-"
TEMPORARY_PREFIX = "."


class RawDatasets:
    """The folder of Parquet raw datasets: one sub-folder per raw table."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def folder(self, table: str) -> Path:
        """Return a raw table's dataset folder."""
        return self.root / table

    def sweep(self, con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
        """Delete files of ``table``'s folder that no ledger row counts; return their names.

        They are what a crash left: a half-written temporary file, or a batch whose
        transaction never committed (that batch's landing files load again in this run).
        """
        folder = self.folder(table)
        if not folder.is_dir():
            return []
        counted = {row[0] for row in con.execute(
            f"select distinct raw_dataset_file from {LEDGER_TABLE} "
            "where entity = ? and raw_dataset_file is not null", [table]).fetchall()}
        removed = []
        for path in sorted(folder.iterdir()):
            stray_batch = path.name.startswith(BATCH_PREFIX) and path.name not in counted
            if stray_batch or path.name.startswith(TEMPORARY_PREFIX):
                path.unlink()
                removed.append(path.name)
        return removed

    def ensure_schema_file(self, con: duckdb.DuckDBPyConnection, table: str) -> Path:
        """Write a file with no rows and the table's columns, once per column list."""
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, table]).fetchall()
        digest = hashlib.sha256(repr(columns).encode()).hexdigest()[:16]
        target = self.folder(table) / f"{SCHEMA_PREFIX}{digest}.parquet"
        if not target.exists():
            self._write(con, f"select * from {RAW_SCHEMA}.{table} limit 0", target)
        return target

    def write_batch(self, con: duckdb.DuckDBPyConnection, table: str, rows_sql: str,
                    parameters: list[object]) -> str:
        """Write the rows this batch put into ``table`` as one file; return its name.

        Called inside the batch's transaction with the query whose rows the raw insert
        took (same columns, same order), so the file holds what the transaction holds.
        """
        name = f"{BATCH_PREFIX}{uuid.uuid4().hex}.parquet"
        self._write(con, rows_sql, self.folder(table) / name, parameters)
        return name

    def backfill(self, con: duckdb.DuckDBPyConnection, table: str) -> str | None:
        """Write the rows ``table`` loaded while no dataset was wanted as one file; its name.

        A warehouse loaded without datasets (DuckDB alone read its raw tables) that starts
        wanting them (its dbt now builds on Spark or Postgres) has ledger rows of loaded
        files that name no dataset file. Their raw rows, known by file and run, go into one
        file, and those ledger rows name it, in one transaction, written as a batch's file
        is: a crash leaves a file no ledger row names, which the next sweep deletes, and the
        next load writes it again. None when nothing is missing.
        """
        missing = (f"from {LEDGER_TABLE} where entity = ? and status = 'loaded' "
                   "and rows_loaded > 0 and raw_dataset_file is null")
        if not con.execute(f"select count(*) {missing}", [table]).fetchone()[0]:
            return None
        name = f"{BACKFILL_PREFIX}{uuid.uuid4().hex}.parquet"
        con.begin()
        try:
            self._write(con, f"""select raw.* from {RAW_SCHEMA}.{table} raw
                join (select source_file, run_id {missing}) loaded
                on loaded.source_file = raw._source_file and loaded.run_id = raw._run_id""",
                        self.folder(table) / name, [table])
            con.execute(f"update {LEDGER_TABLE} set raw_dataset_file = ? "
                        f"where rowid in (select rowid {missing})", [name, table])
        except BaseException:
            con.rollback()
            raise
        con.commit()
        return name

    @staticmethod
    def _write(con: duckdb.DuckDBPyConnection, query: str, target: Path,
               parameters: list[object] | None = None) -> None:
        """Write a query's rows to a hidden file, flush it to disk, then rename it into place."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f"{TEMPORARY_PREFIX}{target.name}.tmp")
        escaped = str(temporary).replace("'", "''")
        con.execute(f"copy ({query}) to '{escaped}' (format parquet, compression zstd)",
                    parameters or [])
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
