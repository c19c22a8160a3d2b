"""Pointed at an EHR's Bulk Data endpoint and an interface engine's MLLP feed, the pipeline
extracts, lands and loads both: the marts equal those built from the same data as files.

The hand-made world's EHR exports come from the Bulk Data server (``referral-warehouse
extract-ehr``, twice: everything, then ``_since``) and its SIU messages through the MLLP
receiver (``referral-warehouse listen-hl7``); the CRM and web files are copied as delivered.
One ``referral-warehouse run`` then builds marts equal, row for row, to the hand-made world's.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from orchestration.ingest.readers.hl7_reader import decode, split_messages
from tests.conftest import CRM_ENTITIES, HANDMADE_LANDING
from tests.engines.marts import duckdb_marts
from tests.extract.conftest import CLIENT_ID
from tests.extract.mllp_peer import CLI, Receiver, connect, send


def _env(root: Path, server, private_key: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RW_") and k != "DAGSTER_HOME"}
    env.update(RW_DEMO_MODE="1", RW_LANDING_DIR=str(root / "landing"),
               RW_WAREHOUSE_PATH=str(root / "warehouse.duckdb"),
               RW_QUALITY_DIR=str(root / "quality"), RW_SERVING_DIR=str(root / "serving"),
               RW_FHIR_BULK_BASE_URL=server.fhir_url, RW_FHIR_BULK_GROUP_ID="cardiology",
               RW_FHIR_BULK_CLIENT_ID=CLIENT_ID,
               RW_FHIR_BULK_PRIVATE_KEY_FILE=str(private_key))
    return env


def test_extracted_from_the_systems_the_marts_equal_those_from_files(
        tmp_path: Path, bulk_server, client_keys, handmade_world: Path) -> None:
    landing = tmp_path / "landing"
    for source in ("crm", "web"):
        shutil.copytree(HANDMADE_LANDING / source, landing / source)
    for entity in CRM_ENTITIES:
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    env = _env(tmp_path, bulk_server(), client_keys[0])

    for _ in range(2):  # everything, then what changed since
        extract = subprocess.run([str(CLI), "extract-ehr"], env=env, capture_output=True,
                                 text=True, timeout=300)
        assert extract.returncode == 0, extract.stdout + extract.stderr
        assert "landed" in extract.stdout
    assert sorted(p.name for p in (landing / "ehr").iterdir()) == [
        "export_20260110T000000Z", "export_20260331T000000Z"]

    landed = [p for p in (landing / "ehr").rglob("*") if p.is_file()]
    assert {stat.S_IMODE(p.stat().st_mode) for p in landed} == {0o600}

    receiver = Receiver(landing, tmp_path / "receiver.log")
    with connect(receiver.port) as engine:
        for path in sorted((HANDMADE_LANDING / "scheduling").glob("*.hl7")):
            for message in split_messages(decode(path.read_bytes())):
                assert send(engine, message.encode()) == "AA"
    receiver.stop()
    batches = list((landing / "scheduling").glob("*.hl7"))
    assert batches and {stat.S_IMODE(p.stat().st_mode) for p in batches} == {0o600}

    run = subprocess.run([str(CLI), "run"], env=env, capture_output=True, text=True,
                         timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    ours = duckdb_marts(tmp_path / "warehouse.duckdb")
    files = duckdb_marts(handmade_world / "warehouse.duckdb")
    assert set(ours.rows) == set(files.rows)
    assert {t: len(r) for t, r in ours.rows.items() if r != files.rows[t]} == {}
