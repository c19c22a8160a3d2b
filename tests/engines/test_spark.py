"""The same dbt project on Spark (issue 12): the hand-made worlds' marts, row for row (ours,
and the one written to the referral standards).

Spark runs in the dbt process (`method: session`, `local[2]`, pyspark from PyPI and Java 17,
which `.ci/run` installs when it is missing), on plain Parquet tables with no Delta. The whole
pipeline runs as a user would run it: `referral-warehouse run` with RW_DBT_TARGET=spark
loads the landing files (DuckDB's raw tables and the Parquet raw datasets), then Dagster runs
`dbt build` on Spark, which reads the raw datasets. Every mart must equal DuckDB's; a second
build must change no row (the incremental models overwrite whole load-date partitions).

Spark's tables are Parquet folders under its warehouse directory, which DuckDB reads here:
the test needs no second JVM to look at what Spark wrote.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_manifest import build_target_path
from orchestration.transform.dbt_project import dbt_executable
from tests.conftest import CRM_ENTITIES, HANDMADE_LANDING, STANDARDS_LANDING
from tests.engines.marts import (
    INCREMENTAL,
    Marts,
    data_test_verdicts,
    duckdb_marts,
    project_unit_tests,
    sorted_rows,
    unit_test_verdicts,
)
from tests.engines.npi_rule import VALUES, engine_verdicts, expected

CLI = Path(sys.executable).parent / "referral-warehouse"


@pytest.fixture(scope="module")
def spark_available() -> None:
    missing = [name for name, ok in (("java", shutil.which("java")),
                                     ("pyspark", importlib.util.find_spec("pyspark")))
               if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{' and '.join(missing)} missing: .ci/run and `make install` "
                        "install them")
        pytest.skip(f"{' and '.join(missing)} not installed")


def _spark_table(spark_dir: Path, schema: str, table: str, columns: str = "*") -> list[tuple]:
    """Read a Spark table's Parquet files (a table with no rows has none)."""
    folder = spark_dir / "warehouse" / f"{schema}.db" / table
    if not folder.is_dir():
        raise AssertionError(f"Spark has no table {schema}.{table}")
    if not any(folder.rglob("*.parquet")):
        return []
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        return sorted_rows(con.execute(
            f"select {columns} from read_parquet('{folder}/**/*.parquet', "
            "hive_partitioning = true)").fetchall())
    finally:
        con.close()


def _assert_equal_marts(spark_dir: Path, expected: Marts) -> None:
    for table, rows in expected.rows.items():
        assert _spark_table(spark_dir, "marts", table, expected.select(table)) == rows, table


@pytest.mark.parametrize("world", ["handmade", "standards"])
def test_the_marts_on_spark_equal_duckdbs_and_a_second_build_changes_nothing(
        spark_available: None, world: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    built = request.getfixturevalue(f"{world}_world")
    expected = duckdb_marts(built / "warehouse.duckdb")
    assert len(expected.rows) == 14
    landing = tmp_path / "landing"
    shutil.copytree(HANDMADE_LANDING if world == "handmade" else STANDARDS_LANDING, landing)
    for entity in CRM_ENTITIES:  # git keeps no empty folders
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    spark_dir = tmp_path / "spark"
    env = {**os.environ, "RW_DBT_TARGET": "spark", "RW_SPARK_DIR": str(spark_dir),
           "RW_LANDING_DIR": str(landing),
           "RW_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
           "RW_QUALITY_DIR": str(tmp_path / "quality"),
           "RW_SERVING_DIR": str(tmp_path / "serving"), "RW_LOG_DIR": str(tmp_path / "logs"),
           "RW_DEMO_MODE": "1"}
    env.pop("DAGSTER_HOME", None)
    env.pop("RW_RAW_DATASET_DIR", None)

    run = subprocess.run([str(CLI), "run"], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "dbt models built on: spark" in run.stdout
    assert (tmp_path / "raw_datasets" / "ehr_service_request").is_dir()
    _assert_equal_marts(spark_dir, expected)
    duckdb_verdicts = data_test_verdicts(build_target_path(built / "warehouse.duckdb"))
    with pytest.MonkeyPatch.context() as patch:  # the run's target folder is Spark's
        patch.setenv("RW_DBT_TARGET", "spark")
        spark_target = build_target_path(tmp_path / "warehouse.duckdb")
    assert data_test_verdicts(spark_target) == duckdb_verdicts
    counts = [len(_spark_table(spark_dir, "staging", model)) for model in INCREMENTAL]
    # The standards' world has scheduling messages but no web feed.
    assert all(counts) if world == "handmade" else any(counts)
    again = subprocess.run([str(CLI), "run"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.startswith("nothing new"), again.stdout

    # The second build runs every dbt unit test on Spark too (the data tests ran in the first).
    second = subprocess.run(
        [dbt_executable(), "build", "--exclude", "resource_type:test",
         "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "profiles"),
         "--target-path", str(tmp_path / "target")],
        env={**env, "RW_RAW_DATASET_DIR": str(tmp_path / "raw_datasets")}, cwd=tmp_path,
        capture_output=True, text=True, timeout=1200)
    assert second.returncode == 0, second.stdout[-4000:]
    verdicts = unit_test_verdicts(tmp_path / "target")
    assert set(verdicts) == project_unit_tests(tmp_path / "target"), verdicts
    assert set(verdicts.values()) == {"pass"}, verdicts
    _assert_equal_marts(spark_dir, expected)
    assert [len(_spark_table(spark_dir, "staging", model)) for model in INCREMENTAL] == counts


def test_the_npi_rule_reads_every_value_as_python_does(spark_available: None,
                                                      tmp_path: Path) -> None:
    # Java's `$` matched before a final line break: "1234567893\n" was a valid NPI here.
    env = {**os.environ, "RW_DBT_TARGET": "spark", "RW_SPARK_DIR": str(tmp_path / "spark")}
    assert engine_verdicts(env, tmp_path / "target") == [expected(v) for v in VALUES]
