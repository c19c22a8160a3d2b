"""The NPI rule on DuckDB: dbt's `is_valid_npi` and the raw suites' `npi_is_valid`.

Both equal the rule worked out in Python (tests/engines/npi_rule.py) on the values where
readings part ways, all in one batch: a letter among valid NPIs used to stop both with a
conversion error, since `and` cast every row's digits. tests/engines runs dbt's macro on
Postgres and Spark.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.quality.validate import NPI_MACRO
from tests.engines.npi_rule import VALUES, engine_verdicts, expected


def test_dbt_reads_every_npi_as_python_does(tmp_path: Path) -> None:
    env = {**os.environ, "RW_DBT_TARGET": "duckdb",
           "RW_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")}
    assert engine_verdicts(env, tmp_path / "target") == [expected(v) for v in VALUES]


def test_the_raw_suites_read_every_npi_as_python_does() -> None:
    con = duckdb.connect()
    con.execute(NPI_MACRO)
    verdicts = con.execute("select npi_is_valid(npi) from unnest(cast(? as varchar[])) "
                           "with ordinality t(npi, n) order by n", [VALUES]).fetchall()
    # A suite's rule is a yes or no: no NPI is not a valid one.
    assert [row[0] for row in verdicts] == [bool(expected(v)) for v in VALUES]
