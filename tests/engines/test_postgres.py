"""The same dbt project on Postgres 15 (issue 12): the hand-made worlds' marts, row for row
(ours, and the one written to the referral standards).

The test starts its own Postgres (Debian's `postgresql` package, which `.ci/run` installs) on
127.0.0.1, copies the raw layer from the hand-made world's Parquet raw datasets with COPY, runs
`dbt build --target postgres` twice, and compares every mart with DuckDB's after each build:
equal, and the second build changes no row (incremental models never duplicate).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.ingest.raw_to_postgres import copy_raw_to_postgres
from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_manifest import build_target_path
from orchestration.transform.dbt_project import dbt_executable
from tests.engines.marts import (
    INCREMENTAL,
    data_test_verdicts,
    duckdb_marts,
    project_unit_tests,
    sorted_rows,
    unit_test_verdicts,
)
from tests.engines.npi_rule import VALUES, engine_verdicts, expected


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway Postgres on loopback; its connection settings as RW_PG_* variables."""
    binaries = _postgres_bin()
    if binaries is None:
        if os.environ.get("CI"):
            pytest.fail("Postgres is not installed: .ci/run installs Debian's postgresql")
        pytest.skip("Postgres is not installed (apt-get install postgresql)")
    # Not under pytest's folder: as root that is private, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="rw-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as `postgres`
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    data = root / "data"
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U",
                    "rw", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l",
                    str(root / "server.log"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start"], check=True, capture_output=True)
    try:
        subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "rw",
                        "referral_warehouse"], check=True, capture_output=True)
        yield {"RW_PG_HOST": "127.0.0.1", "RW_PG_PORT": port, "RW_PG_USER": "rw",
               "RW_PG_DATABASE": "referral_warehouse"}
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _rows(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return sorted_rows(cursor.fetchall())


@pytest.mark.parametrize("world", ["handmade", "standards"])
def test_the_marts_on_postgres_equal_duckdbs_and_a_second_build_changes_nothing(
        postgres: dict[str, str], world: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    built = request.getfixturevalue(f"{world}_world")
    import psycopg2

    # A database per world: incremental models must start empty, as on a new site.
    admin = psycopg2.connect(host=postgres["RW_PG_HOST"], port=postgres["RW_PG_PORT"],
                             user=postgres["RW_PG_USER"], dbname="postgres")
    try:
        admin.autocommit = True  # CREATE DATABASE runs outside a transaction only
        with admin.cursor() as cursor:
            cursor.execute(f"create database referral_warehouse_{world}")
    finally:
        admin.close()
    postgres = {**postgres, "RW_PG_DATABASE": f"referral_warehouse_{world}"}

    dsn = (f"host={postgres['RW_PG_HOST']} port={postgres['RW_PG_PORT']} "
           f"user={postgres['RW_PG_USER']} dbname={postgres['RW_PG_DATABASE']}")
    copied = copy_raw_to_postgres(built / "raw_datasets", dsn)
    assert copied["ehr_service_request"] > 0
    assert copied["web_ga4_events"] > 0 or world == "standards"  # no web feed there
    expected = duckdb_marts(built / "warehouse.duckdb")
    assert len(expected.rows) == 14

    env = {**os.environ, **postgres, "RW_DBT_TARGET": "postgres"}
    counts = []
    for build in (1, 2):
        # The first build runs every dbt unit test on Postgres too, before its model.
        unit_tests = [] if build == 1 else ["--exclude", "resource_type:unit_test"]
        done = subprocess.run(
            [dbt_executable(), "build", *unit_tests,
             "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "profiles"),
             "--target-path", str(tmp_path / f"target-{build}")],
            env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-4000:]
        if build == 1:
            verdicts = unit_test_verdicts(tmp_path / "target-1")
            assert set(verdicts) == project_unit_tests(tmp_path / "target-1"), verdicts
            assert set(verdicts.values()) == {"pass"}, verdicts
            assert data_test_verdicts(tmp_path / "target-1") == data_test_verdicts(
                build_target_path(built / "warehouse.duckdb"))
        with psycopg2.connect(dsn) as pg, pg.cursor() as cursor:
            for table, rows in expected.rows.items():
                assert _rows(cursor, f"select {expected.select(table)} "
                                     f"from marts.{table}") == rows, table
            counts.append([_rows(cursor, f"select count(*) from staging.{model}")
                           for model in INCREMENTAL])
    assert counts[0] == counts[1]


def test_the_npi_rule_reads_every_value_as_python_does(postgres: dict[str, str],
                                                      tmp_path: Path) -> None:
    env = {**os.environ, **postgres, "RW_DBT_TARGET": "postgres"}
    assert engine_verdicts(env, tmp_path / "target") == [expected(v) for v in VALUES]
