"""The raw layer, copied from the loader's Parquet raw datasets into Postgres.

dbt's models are portable; the loader writes each raw table into DuckDB and, batch by batch,
into a Parquet dataset (orchestration/ingest/raw_datasets.py). To build the same marts on
Postgres, each raw table is created there with the matching types and filled with
`COPY ... FROM STDIN` from a CSV DuckDB writes of the dataset: one statement per table,
never row by row. The copy replaces the tables, so it can run again. The ledger and
quarantine stay in DuckDB: no model reads them.

    python -m orchestration.ingest.raw_to_postgres \
        --dsn "host=127.0.0.1 port=5432 dbname=rw user=rw"
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.ingest.warehouse import RAW_SCHEMA

POSTGRES_TYPES = {"VARCHAR": "text", "JSON": "json", "DOUBLE": "double precision",
                  "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP": "timestamp",
                  "BIGINT": "bigint", "INTEGER": "integer", "BOOLEAN": "boolean", "DATE": "date"}


def postgres_type(duckdb_type: str) -> str:
    """Return the Postgres type of a raw column (decimals keep their precision)."""
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.lower().replace("decimal", "numeric")
    return POSTGRES_TYPES[duckdb_type]


def copy_raw_to_postgres(raw_dataset_dir: str | Path, dsn: str) -> dict[str, int]:
    """Create and fill every raw table in Postgres's `raw` schema; return rows per table."""
    import psycopg2

    root = Path(raw_dataset_dir)
    tables = sorted(p.name for p in root.iterdir() if any(p.glob("*.parquet")))
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    counts: dict[str, int] = {}
    with psycopg2.connect(dsn) as pg, pg.cursor() as cursor, \
            tempfile.TemporaryDirectory(prefix="rw-raw-") as scratch:
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        for table in tables:
            files = str(root / table / "*.parquet").replace("'", "''")
            dataset = con.sql(f"select * from read_parquet('{files}', union_by_name = true)")
            ddl = ", ".join(f'"{name}" {postgres_type(str(kind))}'
                            for name, kind in zip(dataset.columns, dataset.types, strict=True))
            cursor.execute(f'drop table if exists {RAW_SCHEMA}."{table}"')
            cursor.execute(f'create table {RAW_SCHEMA}."{table}" ({ddl})')
            csv = Path(scratch) / f"{table}.csv"
            dataset.write_csv(str(csv), header=False)
            with csv.open(encoding="utf-8") as handle:
                cursor.copy_expert(f'copy {RAW_SCHEMA}."{table}" from stdin with (format csv)',
                                   handle)
            counts[table] = cursor.rowcount
    con.close()
    return counts


def main() -> None:
    """Copy the warehouse's raw layer into the Postgres database the DSN names."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dsn", required=True, help="libpq connection string")
    parser.add_argument("--raw-datasets", default=settings.raw_dataset_dir(),
                        help="the loader's Parquet raw datasets (default: beside the warehouse)")
    args = parser.parse_args()
    for table, rows in copy_raw_to_postgres(args.raw_datasets, args.dsn).items():
        print(f"{table}: {rows} rows")  # noqa: T201 - a command line's output


if __name__ == "__main__":
    main()
