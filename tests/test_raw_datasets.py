"""The Parquet raw datasets other engines read (issue 12): one file per batch, never a half file.

A loading process is killed (SIGKILL, no clean-up of any kind) at the two worst moments:
while the Parquet file is being written, and after it was renamed into place but before the
batch's transaction committed. Either way the next load leaves the dataset folder holding
exactly the files the ledger counts, and their rows equal the raw table's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.raw_datasets import RawDatasets
from orchestration.ingest.warehouse import LEDGER_TABLE, connect

TEST_KEY = "test-key-0123456789abcdef0123456789abcdef"
TABLE = "ehr_service_request"

# Loads one entity in a child process that kills itself at the named moment.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import orchestration.ingest.raw_datasets as raw_datasets
    from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
    from orchestration.ingest.loader import load_entity
    from orchestration.ingest.pseudonymize import Pseudonymizer
    from orchestration.ingest.warehouse import connect

    moment, warehouse, landing, datasets, table, key = sys.argv[1:]
    real_replace = os.replace

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def copy_then_die(con, query, target, parameters=None):
        temporary = target.with_name("." + target.name + ".tmp")
        temporary.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as half:  # a file cut off part way, as a crash leaves it
            half.write(b"PAR1" + b"\\0" * 100)
        die()

    def rename_then_die(source, target):
        real_replace(source, target)
        if Path(target).name.startswith("batch-"):
            die()

    if moment == "while_writing":
        original = raw_datasets.RawDatasets._write
        def write(con, query, target, parameters=None):
            if target.name.startswith("batch-"):
                copy_then_die(con, query, target, parameters)
            return original(con, query, target, parameters)
        raw_datasets.RawDatasets._write = staticmethod(write)
    else:
        raw_datasets.os.replace = rename_then_die
    con = connect(warehouse)
    load_entity(con, ENTITIES_BY_TABLE[table], Path(landing), Pseudonymizer(key),
                raw_datasets=raw_datasets.RawDatasets(datasets))
""")


def _counted(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        f"select raw_dataset_file from {LEDGER_TABLE} where entity = ? "
        "and raw_dataset_file is not null", [TABLE]).fetchall()}


def _dataset_rows(folder: Path) -> int:
    return duckdb.sql(f"select count(*) from read_parquet('{folder}/*.parquet', "
                      "union_by_name = true)").fetchone()[0]


def test_every_loaded_batch_is_one_counted_file_with_the_raw_rows(landing: Path,
                                                                  tmp_path: Path) -> None:
    datasets = RawDatasets(tmp_path / "raw_datasets")
    con = connect(tmp_path / "warehouse.duckdb")
    for table in ("ehr_service_request", "web_ga4_events", "scheduling_siu_messages"):
        report = load_entity(con, ENTITIES_BY_TABLE[table], landing, Pseudonymizer(TEST_KEY),
                             raw_datasets=datasets, batch_bytes=1)  # a batch per file
        folder = datasets.folder(table)
        batches = {p.name for p in folder.glob("batch-*.parquet")}
        counted = {r[0] for r in con.execute(
            f"select raw_dataset_file from {LEDGER_TABLE} where entity = ? "
            "and raw_dataset_file is not null", [table]).fetchall()}
        assert batches == counted
        assert len(batches) == len({f.file for f in report.files if f.rows_loaded})
        raw_rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
        assert _dataset_rows(folder) == raw_rows == report.rows_loaded > 0
    # Nothing new: a second load writes no file.
    before = sorted(p.name for p in datasets.folder(TABLE).iterdir())
    load_entity(con, ENTITIES_BY_TABLE[TABLE], landing, Pseudonymizer(TEST_KEY),
                raw_datasets=datasets)
    assert sorted(p.name for p in datasets.folder(TABLE).iterdir()) == before
    con.close()


@pytest.mark.parametrize("moment", ["while_writing", "after_rename_before_commit"])
def test_a_killed_load_leaves_no_counted_half_file(moment: str, landing: Path,
                                                   tmp_path: Path) -> None:
    warehouse, datasets = tmp_path / "warehouse.duckdb", RawDatasets(tmp_path / "raw_datasets")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, moment, str(warehouse), str(landing), str(datasets.root),
         TABLE, TEST_KEY], cwd=Path(__file__).parents[1], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    folder = datasets.folder(TABLE)
    con = connect(warehouse)
    left = {p.name for p in folder.iterdir()}
    # What the crash left is counted nowhere: no ledger row, no raw row.
    assert not _counted(con)
    assert con.execute(f"select count(*) from raw.{TABLE}").fetchone()[0] == 0
    if moment == "while_writing":
        assert any(name.endswith(".tmp") for name in left)  # the half file, hidden
        assert _dataset_rows(folder) == 0  # readers of *.parquet never see it
    else:
        assert any(name.startswith("batch-") for name in left)  # renamed, never committed

    report = load_entity(con, ENTITIES_BY_TABLE[TABLE], landing, Pseudonymizer(TEST_KEY),
                         raw_datasets=datasets)
    batches = {p.name for p in folder.iterdir() if p.name.startswith("batch-")}
    assert batches == _counted(con)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    raw_rows = con.execute(f"select count(*) from raw.{TABLE}").fetchone()[0]
    assert _dataset_rows(folder) == raw_rows == report.rows_loaded > 0
    con.close()
