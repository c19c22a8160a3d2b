"""The raw layer, copied from the DuckDB warehouse into Postgres for the dbt `postgres` target.

dbt's models are portable; the raw layer is written by the loader into DuckDB. To build the
same marts on Postgres, each raw table (and the ledger and quarantine) is created there with
the matching types and filled with `COPY ... FROM STDIN` from a CSV DuckDB writes: one
statement per table, never row by row. The copy replaces the tables, so it can run again.

    python -m orchestration.load.to_postgres --dsn "host=127.0.0.1 port=5432 dbname=rw user=rw"
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.load.warehouse import RAW_SCHEMA, connect

POSTGRES_TYPES = {"VARCHAR": "text", "JSON": "json", "DOUBLE": "double precision",
                  "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp",
                  "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean", "DATE": "date"}


def postgres_type(duckdb_type: str) -> str:
    """Return the Postgres type of a raw column (decimals keep their precision)."""
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower().replace("decimal", "numeric")
    return POSTGRES_TYPES[duckdb_type]


def copy_raw_to_postgres(con: duckdb.DuckDBPyConnection, dsn: str) -> dict[str, int]:
    """Create and fill every raw table in Postgres's `raw` schema; return rows per table."""
    import psycopg2

    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by 1", [RAW_SCHEMA]).fetchall()]
    counts: dict[str, int] = {}
    with psycopg2.connect(dsn) as pg, pg.cursor() as cursor, \
            tempfile.TemporaryDirectory(prefix="rw-raw-") as scratch:
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [RAW_SCHEMA, table]).fetchall()
            ddl = ", ".join(f'"{name}" {postgres_type(kind)}' for name, kind in columns)
            cursor.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
            cursor.execute(f'create table {RAW_SCHEMA}."{table}" ({ddl})')
            csv = Path(scratch) / f"{table}.csv"
            con.execute(f"copy {RAW_SCHEMA}.{table} to '{csv}' (format csv, header false)")
            with csv.open(encoding="utf-8") as handle:
                cursor.copy_expert(f'copy {RAW_SCHEMA}."{table}" from stdin with (format csv)',
                                   handle)
            counts[table] = cursor.rowcount
    return counts


def main() -> None:
    """Copy the warehouse's raw layer into the Postgres database the DSN names."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True, help="libpq connection string")
    parser.add_argument("--warehouse", default=settings.warehouse_path())
    args = parser.parse_args()
    con = connect(args.warehouse, read_only=True)
    for table, rows in copy_raw_to_postgres(con, args.dsn).items():
        print(f"{table}: {rows} rows")  # noqa: T201 - a command line's output


if __name__ == "__main__":
    main()
