"""A landing file is read to be hashed once: the hash is reused while the file's stamp is
unchanged, and any rewrite, even one that puts size and modification time back, is hashed
again; a file too fresh to be judged by its stamp is always hashed (decision 107)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from orchestration.ingest import landing as landing_module
from orchestration.ingest.entities.ga4_entities import GA4_ENTITY
from orchestration.ingest.landing import UNTRUSTED, discover
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import LEDGER_TABLE, connect, known_hashes
from tests.conftest import TEST_KEY

EVENT = ('{"event_date": "20260101", "event_timestamp": "1767225600000000", '
         '"event_name": "page_view", "event_params": []}\n')


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "landing" / "web" / "events_20260101.ndjson"
    path.parent.mkdir(parents=True)
    path.write_text(EVENT)
    return path


def test_a_hash_is_reused_only_while_the_stamp_is_unchanged(
        events_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = events_file.parents[1]
    fresh = discover(landing, GA4_ENTITY).files[0]
    assert fresh.sha256 == _sha256(events_file) and fresh.stamp == UNTRUSTED
    # Even told a hash for it, a fresh file is read again.
    told = {fresh.relative: (fresh.stamp, "told")}
    assert discover(landing, GA4_ENTITY, told).files[0].sha256 == _sha256(events_file)

    monkeypatch.setattr(landing_module, "RACY_NANOSECONDS", 0)  # as if written long ago
    first = discover(landing, GA4_ENTITY).files[0]
    stat = events_file.stat()
    assert first.stamp == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    # The stamp matches: the recorded hash is taken, the file is not read.
    told = {first.relative: (first.stamp, "recorded")}
    assert discover(landing, GA4_ENTITY, told).files[0].sha256 == "recorded"

    time.sleep(0.05)  # past the file system's clock tick
    events_file.write_text(EVENT.replace("page_view", "page_vie2"))
    os.utime(events_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # modification time back
    assert (events_file.stat().st_size, events_file.stat().st_mtime_ns) == \
        (stat.st_size, stat.st_mtime_ns)
    rewritten = discover(landing, GA4_ENTITY, told).files[0]
    assert rewritten.sha256 == _sha256(events_file) != first.sha256


def test_the_loader_records_hashes_and_still_loads_a_file_rewritten_in_place(
        events_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landing_module, "RACY_NANOSECONDS", 0)
    landing = events_file.parents[1]
    con = connect(tmp_path / "warehouse.duckdb")
    pseudonymizer = Pseudonymizer(TEST_KEY)
    assert load_entity(con, GA4_ENTITY, landing, pseudonymizer).rows_loaded == 1
    (stamp, recorded), = known_hashes(con).values()
    assert recorded == _sha256(events_file) and stamp[3] == events_file.stat().st_ino
    assert load_entity(con, GA4_ENTITY, landing, pseudonymizer).already_loaded == 1

    time.sleep(0.05)
    stat = events_file.stat()
    events_file.write_text(EVENT.replace("page_view", "page_vie2"))
    os.utime(events_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = load_entity(con, GA4_ENTITY, landing, pseudonymizer)
    assert report.rows_loaded == 1 and report.already_loaded == 0
    assert known_hashes(con)[report.files[0].file][1] == _sha256(events_file)
    assert con.execute(f"select count(distinct file_sha256) from {LEDGER_TABLE}").fetchone() \
        == (2,)
