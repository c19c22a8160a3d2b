"""Entities loaded side by side end as they end when loaded one after another.

The extract-load step loads two entities at a time, each on a cursor of its own
(orchestration/ingest/concurrent_loads.py). They share the ledger, quarantine, drift and
file-hash tables, so this loads a small generated world with defects both ways, twice each
(the second pass must change nothing), and compares every raw table and bookkeeping table
row for row, apart from the run's id and clock.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.concurrent_loads import (
    each_on_its_own_cursor,
    largest_first,
    prepare,
)
from orchestration.ingest.entities.entity_registry import ENTITIES, ENTITIES_BY_TABLE
from orchestration.ingest.loader import LoadReport, load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.raw_datasets import RawDatasets
from orchestration.ingest.warehouse import connect
from tests.conftest import TEST_KEY, simulate

# Columns a load stamps with its own run and clock; everything else must be equal.
STAMPS = {"_loaded_at", "_run_id", "run_id", "loaded_at", "quarantined_at", "noted_at",
          "hashed_at", "raw_dataset_file", "recorded_at"}
BOOKKEEPING = ("_load_ledger", "_quarantine", "_schema_drift", "_file_hashes")


def _one_after_another(con: duckdb.DuckDBPyConnection, landing: Path, root: Path,
                       run_id: str) -> None:
    for spec in ENTITIES:
        load_entity(con, spec, landing, Pseudonymizer(TEST_KEY), run_id,
                    raw_datasets=RawDatasets(root / "sequential_raw"))


def _side_by_side(con: duckdb.DuckDBPyConnection, landing: Path, root: Path,
                  run_id: str) -> list[str]:
    pseudonymizer = Pseudonymizer(TEST_KEY)
    specs = largest_first(landing, list(ENTITIES))
    prepare(con, specs, pseudonymizer, run_id)

    def load(cursor: duckdb.DuckDBPyConnection, spec) -> LoadReport:
        return load_entity(cursor, spec, landing, pseudonymizer, run_id,
                           raw_datasets=RawDatasets(root / "concurrent_raw"))

    finished = []
    for spec, report in each_on_its_own_cursor(con, specs, load):
        assert isinstance(report, LoadReport), report
        finished.append(spec.table)
    return finished


def _contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    tables = [s.table for s in ENTITIES] + list(BOOKKEEPING)
    contents = {}
    for table in tables:
        columns = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'raw' "
            "and table_name = ? order by column_index", [table]).fetchall() if c not in STAMPS]
        listed = ", ".join(f'"{c}"' for c in columns)
        contents[table] = con.execute(f"select {listed} from raw.{table} order by all").fetchall()
    return contents


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, list[str]]:
    root = tmp_path_factory.mktemp("concurrent")
    landing, _ = simulate(root)
    sequential = connect(root / "sequential.duckdb")
    concurrent = connect(root / "concurrent.duckdb")
    finished = []
    for run_id in ("run-1", "run-2"):
        _one_after_another(sequential, landing, root, run_id)
        finished.append(_side_by_side(concurrent, landing, root, run_id))
    contents = _contents(sequential), _contents(concurrent)
    sequential.close()
    concurrent.close()
    return (*contents, finished[0])


def test_side_by_side_loads_equal_one_after_another_row_for_row(both) -> None:
    sequential, concurrent, finished = both
    assert sorted(finished) == sorted(s.table for s in ENTITIES)
    assert sum(len(sequential[s.table]) for s in ENTITIES) > 10_000
    assert len(sequential["_quarantine"]) > 100  # the world's defects were met both ways
    for table, rows in sequential.items():
        assert concurrent[table] == rows, table


def test_the_largest_feed_starts_first(tmp_path: Path) -> None:
    landing, _ = simulate(tmp_path, clean=True)
    order = [s.table for s in largest_first(landing, list(ENTITIES))]
    assert order[0] == "web_ga4_events"
    assert order.index("ehr_service_request") < order.index("ehr_location")


def test_a_load_that_raises_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    con = duckdb.connect()
    specs = [ENTITIES_BY_TABLE[t] for t in ("web_ga4_events", "crm_campaigns",
                                             "ehr_patient")]

    def work(cursor: duckdb.DuckDBPyConnection, spec) -> int:
        if spec.table == "crm_campaigns":
            raise OSError("disk full")
        return cursor.execute("select 42").fetchone()[0]

    outcomes = {spec.table: outcome for spec, outcome in each_on_its_own_cursor(con, specs, work)}
    assert outcomes["web_ga4_events"] == outcomes["ehr_patient"] == 42
    assert isinstance(outcomes["crm_campaigns"], OSError)
