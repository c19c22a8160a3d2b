"""Writing the BI copy: each aggregate of orchestration/serve/bi_tables.py, suppressed.

The cells are summed in DuckDB from the warehouse's marts; the suppression runs on the
summed cells (a few thousand rows at most, far fewer than the referrals they count), and
the result is written to the BI copy's DuckDB file and as Parquet. Counts keep their marts'
types: an integer count stays an integer, null where it is suppressed.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from orchestration.serve.bi_tables import BI_TABLES, BiTable
from orchestration.serve.suppression import SUPPRESSED_FLAG, apply

BI_CATALOG_TABLE = "_bi_tables"


def aggregate_sql(table: BiTable, column_types: dict[str, str]) -> str:
    """Return the query that sums one mart into the table's cells."""
    def summed(column: str) -> str:
        return f'cast(sum("{column}") as {column_types[column]}) as "{column}"'

    select = [f'{expression} as "{name}"' for name, expression in table.keys.items()]
    select += [f'any_value("{column}") as "{column}"' for column in table.attributes]
    select += [f'bool_and("{column}") as "{column}"' for column in table.flags]
    select += [summed(c) for c in (*table.counts, *table.amounts, *table.plain)]
    keys = ", ".join(str(n) for n in range(1, len(table.keys) + 1))
    return (f"select {', '.join(select)} from marts.{table.mart} "
            f"group by {keys} order by {keys}")


def published_columns(table: BiTable) -> list[str]:
    """Return the BI table's columns in their published order."""
    return [*table.keys, *table.attributes, *table.flags, *table.counts, *table.amounts,
            *table.plain, *table.rates, SUPPRESSED_FLAG]


def mart_column_types(con: duckdb.DuckDBPyConnection, mart: str) -> dict[str, str]:
    """Return a mart's columns and their DuckDB types."""
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ?", [mart]).fetchall())


def build_table(con: duckdb.DuckDBPyConnection, table: BiTable, threshold: int
                ) -> pd.DataFrame:
    """Return one BI table, summed and suppressed."""
    column_types = mart_column_types(con, table.mart)
    cells = con.execute(aggregate_sql(table, column_types)).df()
    published = apply(cells, table, threshold)
    for column in (*table.counts, *table.amounts):
        if column_types[column] in {"BIGINT", "INTEGER", "HUGEINT"}:
            published[column] = published[column].astype("Int64")
    return published[published_columns(table)]


def write_bi_copy(con: duckdb.DuckDBPyConnection, database: str, parquet: Path,
                  threshold: int) -> dict[str, int]:
    """Write every BI table into the attached ``database`` and ``parquet``; return row counts."""
    present = {row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()}
    counts: dict[str, int] = {}
    catalog = []
    for table in BI_TABLES:
        if table.mart not in present:
            continue
        frame = build_table(con, table, threshold)
        con.register("_bi_frame", frame)
        try:
            # pandas turns a DATE into a timestamp: every date here is a month's or a
            # quarter's first day, published as a DATE.
            columns = ", ".join(
                f'cast("{name}" as date) as "{name}"' if kind.startswith("TIMESTAMP")
                else f'"{name}"' for name, kind in con.execute(
                    "select column_name, column_type from (describe _bi_frame)").fetchall())
            query = f"select {columns} from _bi_frame"
            con.execute(f"create table {database}.main.{table.name} as {query}")
            con.execute(f"copy ({query}) to '{parquet / table.name}.parquet' (format parquet)")
        finally:
            con.unregister("_bi_frame")
        counts[table.name] = len(frame)
        catalog.append((table.name, table.mart, table.description, threshold))
    con.execute(f"""create table {database}.main.{BI_CATALOG_TABLE} (table_name varchar,
        built_from varchar, description varchar, suppressed_below integer)""")
    if catalog:
        con.executemany(f"insert into {database}.main.{BI_CATALOG_TABLE} values (?, ?, ?, ?)",
                        catalog)
    return counts
