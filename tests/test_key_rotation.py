"""Rotating the pseudonymization key: a new warehouse built from landing, the old one refused.

`referral-warehouse rekey` runs as a user would run it (a subprocess with the environment):
with the new key it builds a new warehouse whose raw tables equal a fresh load with that key,
record for record, and leaves the old warehouse as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.key_fingerprint import recorded_fingerprint
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from tests.conftest import CRM_ENTITIES, HANDMADE_LANDING

CLI = Path(sys.executable).parent / "referral-warehouse"
OLD_KEY = "9d2e7b1c4a8f3065d1c7e2b9a4f8306c5e1d9b7a2f4c8e6031b5d9a7c2e4f81b"
NEW_KEY = "4f1c9e2ab7d35860c1e9f04b2a7d6c3e9b8a1f5d2c7e0b4a9f3d6c1e8b2a7f50"
LOAD_METADATA = {"_loaded_at", "_run_id"}


def _landing(root: Path) -> Path:
    landing = root / "landing"
    shutil.copytree(HANDMADE_LANDING, landing)
    for entity in CRM_ENTITIES:
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    return landing


def _load_raw(path: Path, landing: Path, key: str) -> None:
    with connect(path) as con:
        for spec in ENTITIES:
            load_entity(con, spec, landing, Pseudonymizer(key), run_id="fresh")


def _raw_tables(path: Path) -> dict[str, list[tuple]]:
    tables = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for spec in ENTITIES:
            columns = [row[0] for row in con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'raw' and table_name = ? order by ordinal_position", [spec.table]).fetchall()]
            kept = ", ".join(f'"{c}"' for c in columns if c not in LOAD_METADATA)
            tables[spec.table] = con.execute(
                f"select {kept} from raw.{spec.table} order by all").fetchall()
    return tables


def _rekey(root: Path, landing: Path, new: Path, key: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RW_", "DAGSTER_HOME"))}
    env.update(RW_DEMO_MODE="0", RW_PSEUDONYMIZATION_KEY=key, RW_LANDING_DIR=str(landing),
               RW_WAREHOUSE_PATH=str(root / "old" / "warehouse.duckdb"),
               RW_QUALITY_DIR=str(root / "quality"), RW_SERVING_DIR=str(root / "serving"),
               RW_LOG_DIR=str(root / "logs"))
    return subprocess.run([str(CLI), "rekey", "--new-warehouse", str(new)], env=env,
                          cwd=root, capture_output=True, text=True, timeout=600)


def test_rekey_builds_a_warehouse_equal_to_a_fresh_build_with_the_new_key(tmp_path) -> None:
    landing = _landing(tmp_path)
    old = tmp_path / "old" / "warehouse.duckdb"
    _load_raw(old, landing, OLD_KEY)
    before = _raw_tables(old)

    same = _rekey(tmp_path, landing, tmp_path / "same" / "warehouse.duckdb", OLD_KEY)
    assert same.returncode == 2 and "already keyed with this key" in same.stdout
    beside = _rekey(tmp_path, landing, tmp_path / "old" / "rekeyed.duckdb", NEW_KEY)
    assert beside.returncode == 2 and "folder of its own" in beside.stdout

    new = tmp_path / "new" / "warehouse.duckdb"
    done = _rekey(tmp_path, landing, new, NEW_KEY)
    assert done.returncode == 0, done.stdout[-3000:]
    assert f"RW_WAREHOUSE_PATH={new}" in done.stdout
    assert NEW_KEY not in done.stdout + done.stderr  # the key itself is never printed

    fresh = tmp_path / "fresh" / "warehouse.duckdb"
    _load_raw(fresh, landing, NEW_KEY)
    rekeyed = _raw_tables(new)
    assert rekeyed == _raw_tables(fresh)
    assert _raw_tables(old) == before  # the old warehouse is left as it was
    assert rekeyed["ehr_patient"] != before["ehr_patient"]  # every patient key changed
    with duckdb.connect(str(new), read_only=True) as con:
        assert recorded_fingerprint(con) == Pseudonymizer(NEW_KEY).fingerprint
        assert con.execute("select count(*) from marts.fct_referrals").fetchone()[0] == 13
