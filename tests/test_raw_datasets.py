"""The Parquet raw datasets other engines read (issue 12): one file per batch, never a half file.

A loading process is killed (SIGKILL, no clean-up of any kind) at the two worst moments:
while the Parquet file is being written, and after it was renamed into place but before the
batch's transaction committed. Either way the next load leaves the dataset folder holding
exactly the files the ledger counts, and their rows equal the raw table's. The same holds
for the backfill of rows loaded while no dataset was wanted (decision 156).
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


def _counted_in(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        f"select raw_dataset_file from {LEDGER_TABLE} where entity = ? "
        "and raw_dataset_file is not null", [table]).fetchall()}


def _counted(con: duckdb.DuckDBPyConnection) -> set[str]:
    return _counted_in(con, TABLE)


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


def _each_loaded_file_names_a_dataset_file(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(f"select count(*) = 0 from {LEDGER_TABLE} where entity = ? and "
                       "status = 'loaded' and rows_loaded > 0 and raw_dataset_file is null",
                       [table]).fetchone()[0]


def test_rows_loaded_before_datasets_were_wanted_are_written_when_they_are(
        landing: Path, tmp_path: Path) -> None:
    """DuckDB alone read the raw tables, then dbt moves to Spark: nothing loaded is missing."""
    table, spec = "web_ga4_events", ENTITIES_BY_TABLE["web_ga4_events"]
    day = sorted((landing / "web").glob("*.ndjson"))[-1]
    con = connect(tmp_path / "warehouse.duckdb")
    first = load_entity(con, spec, landing, Pseudonymizer(TEST_KEY))  # no datasets wanted
    assert first.rows_loaded > 0 and not (tmp_path / "raw_datasets").exists()
    # The next day arrives, and the loads now want datasets.
    (landing / "web" / "events_20260106.ndjson").write_text(
        day.read_text().replace("20260105", "20260106"))
    datasets = RawDatasets(tmp_path / "raw_datasets")
    second = load_entity(con, spec, landing, Pseudonymizer(TEST_KEY), raw_datasets=datasets)
    folder = datasets.folder(table)
    files = {p.name for p in folder.glob("batch-*.parquet")}
    assert files == _counted_in(con, table) and len(files) == 2  # the backfill, the new batch
    assert len({p for p in files if p.startswith("batch-backfill-")}) == 1
    assert _each_loaded_file_names_a_dataset_file(con, table)
    raw_rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
    assert raw_rows == first.rows_loaded + second.rows_loaded > first.rows_loaded
    assert _dataset_rows(folder) == raw_rows
    ours = con.execute(f"select * exclude (_loaded_at) from raw.{table} order by all").fetchall()
    assert duckdb.sql(f"select * exclude (_loaded_at) from read_parquet('{folder}/*.parquet', "
                      "union_by_name = true) order by all").fetchall() == ours
    load_entity(con, spec, landing, Pseudonymizer(TEST_KEY), raw_datasets=datasets)
    assert {p.name for p in folder.glob("batch-*.parquet")} == files  # nothing again
    con.close()


@pytest.mark.parametrize("moment", ["while_writing", "after_rename_before_commit"])
def test_a_backfill_killed_midway_is_written_again_whole(moment: str, landing: Path,
                                                         tmp_path: Path) -> None:
    warehouse, datasets = tmp_path / "warehouse.duckdb", RawDatasets(tmp_path / "raw_datasets")
    con = connect(warehouse)
    loaded = load_entity(con, ENTITIES_BY_TABLE[TABLE], landing, Pseudonymizer(TEST_KEY))
    con.close()
    child = subprocess.run(
        [sys.executable, "-c", CHILD, moment, str(warehouse), str(landing), str(datasets.root),
         TABLE, TEST_KEY], cwd=Path(__file__).parents[1], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    con = connect(warehouse)
    assert not _counted(con) and not _each_loaded_file_names_a_dataset_file(con, TABLE)
    load_entity(con, ENTITIES_BY_TABLE[TABLE], landing, Pseudonymizer(TEST_KEY),
                raw_datasets=datasets)
    folder = datasets.folder(TABLE)
    assert {p.name for p in folder.iterdir() if p.name.startswith("batch-")} == _counted(con)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    assert _each_loaded_file_names_a_dataset_file(con, TABLE)
    assert _dataset_rows(folder) == loaded.rows_loaded > 0
    con.close()


@pytest.mark.parametrize(("target", "asked", "wanted"), [
    (None, None, False), ("duckdb", None, False), ("spark", None, True),
    ("postgres", None, True), ("duckdb", "1", True), ("spark", "0", False)])
def test_datasets_are_written_where_another_engine_reads_them(
        monkeypatch: pytest.MonkeyPatch, target: str | None, asked: str | None,
        wanted: bool) -> None:
    from orchestration import settings

    for name, value in ((settings.DBT_TARGET_ENV_VAR, target),
                        (settings.RAW_DATASETS_WANTED_ENV_VAR, asked)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert settings.raw_datasets_wanted() is wanted
    monkeypatch.setenv(settings.RAW_DATASETS_WANTED_ENV_VAR, "sometimes")
    with pytest.raises(ValueError, match="must be 1 or 0"):
        settings.raw_datasets_wanted()
