"""The hand-made world's marts as DuckDB built them: what every other engine must equal."""

from __future__ import annotations

import datetime
import decimal
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

# The incremental staging models: a second build must not add a row to any.
INCREMENTAL = ("stg_scheduling__appointment_events",)


def plain(value: object) -> object:
    """Return a value comparable across engines (floats to 9 places, naive timestamps)."""
    if isinstance(value, float | decimal.Decimal):
        return round(float(value), 9)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat()
    return value


def sorted_rows(rows: list[tuple]) -> list[tuple]:
    """Return rows made plain, in one order whatever the engine returned."""
    return sorted((tuple(plain(v) for v in row) for row in rows), key=repr)


@dataclass
class Marts:
    """Every mart's columns (in contract order) and rows."""

    columns: dict[str, list[str]]
    rows: dict[str, list[tuple]]

    def select(self, table: str) -> str:
        """Return the column list of a mart, for a query on another engine."""
        return ", ".join(self.columns[table])


def duckdb_marts(warehouse: Path) -> Marts:
    """Read every mart of a DuckDB warehouse."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()]
        columns = {t: [r[0] for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? order by column_index", [t]).fetchall()] for t in tables}
        rows = {t: sorted_rows(con.execute(f"select * from marts.{t}").fetchall())
                for t in tables}
    finally:
        con.close()
    return Marts(columns, rows)


def data_test_verdicts(target: Path) -> dict[str, tuple[str, int]]:
    """Each dbt data test's status and number of failing rows, from a build's run_results.

    Another engine must reach the same verdicts as DuckDB: a rule that reads a value
    differently (a regular expression, a cast) shows here even when it only warns.
    """
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"]: (r["status"], r["failures"]) for r in results
            if r["unique_id"].startswith("test.")}


def unit_test_verdicts(target: Path) -> dict[str, str]:
    """Each dbt unit test's status in the run_results.json of a dbt command's target folder."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results
            if r["unique_id"].startswith("unit_test.")}


def project_unit_tests(target: Path) -> set[str]:
    """Every unit test of the project, from the manifest the same dbt command wrote."""
    return set(json.loads((target / "manifest.json").read_text())["unit_tests"])
