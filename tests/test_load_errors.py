"""Bad input and bad configuration: clear errors, nothing half-loaded, nothing loaded twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.ingest.load_errors import ConfigurationError, LandingFolderError
from orchestration.ingest.pseudonymize import DEMO_KEY, resolve_key
from orchestration.ingest.readers import csv_reader
from tests.conftest import load

LEADS = "crm/intake_leads/intake_leads_202601.csv"


def _counts(con) -> tuple[int, int, int]:
    return tuple(con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                 for t in ("crm_intake_leads", "_quarantine", "_load_ledger"))


def test_missing_landing_folder_names_it(warehouse, tmp_path, pseudonymizer) -> None:
    with pytest.raises(LandingFolderError, match=r"nowhere does not exist.*RW_LANDING_DIR"):
        load(warehouse, tmp_path / "nowhere", "crm_intake_leads", pseudonymizer)


def test_a_source_that_delivered_nothing_yet_loads_nothing_and_says_so(
        warehouse, landing, pseudonymizer) -> None:
    shutil.rmtree(landing / "web")
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert report.files == [] and "web/ does not exist" in report.missing_folder


def test_manifest_listing_a_missing_file_rejects_it_and_loads_the_rest(
        warehouse, landing, pseudonymizer) -> None:
    (landing / "ehr/export_20260204/Encounter.ndjson").unlink()
    report = load(warehouse, landing, "ehr_encounter", pseudonymizer)
    assert [(f.file, f.status, f.detail) for f in report.files] == [
        ("ehr/export_20260204/Encounter.ndjson", "rejected",
         "ehr/export_20260204/manifest.json output entry 4 lists Encounter.ndjson, which is "
         "not in the export folder")]
    assert load(warehouse, landing, "ehr_patient", pseudonymizer).rows_loaded > 0
    # Recorded once, not again on every run while the file is still missing.
    assert load(warehouse, landing, "ehr_encounter", pseudonymizer).files == []


def test_manifest_that_is_not_json_is_rejected(warehouse, landing, pseudonymizer) -> None:
    (landing / "ehr/export_20260204/manifest.json").write_text("{not json")
    report = load(warehouse, landing, "ehr_patient", pseudonymizer)
    assert [(f.file, f.status) for f in report.files] == [
        ("ehr/export_20260204/manifest.json", "rejected")]
    assert report.files[0].detail.startswith("not a valid bulk-export manifest: "
                                             "JSONDecodeError at position 1")


def test_empty_file_is_recorded_not_failed(warehouse, landing, pseudonymizer) -> None:
    (landing / "web/events_20260106.ndjson").write_text("")
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert report.files_with("empty") == ["web/events_20260106.ndjson"]
    assert report.rows_read == 3


def test_a_rejected_file_does_not_stop_the_files_beside_it(warehouse, landing,
                                                          pseudonymizer) -> None:
    good = landing / "crm/intake_leads/intake_leads_202602.csv"
    lines = (landing / LEADS).read_text().splitlines()
    good.write_text("\n".join([lines[0], lines[1].replace("LEAD-1", "LEAD-9")]) + "\n")
    broken = landing / "crm/intake_leads/intake_leads_202603.csv"
    broken.write_text("lead_id,created_at\nLEAD-10,2026-03-01T00:00:00Z\n")
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert {f.file: f.status for f in report.files} == {
        LEADS: "loaded", "crm/intake_leads/intake_leads_202602.csv": "loaded",
        "crm/intake_leads/intake_leads_202603.csv": "rejected"}
    assert report.rows_loaded == 3


def test_a_machine_error_rolls_the_batch_back_and_records_nothing(
        warehouse, landing, pseudonymizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk or file-system error is not the file's fault: nothing is recorded, so the next
    run reads the file again (regression guard for the rejection path)."""
    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    before = _counts(warehouse)
    (landing / "crm/intake_leads/intake_leads_202602.csv").write_text(
        (landing / LEADS).read_text().replace("LEAD-", "LEAD-2"))
    real = csv_reader.read_records

    def disk_fails_midway(path, spec, relative):
        records = real(path, spec, relative)
        yield next(records)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(csv_reader, "read_records", disk_fails_midway)
    with pytest.raises(OSError):
        load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert _counts(warehouse) == before
    monkeypatch.undo()
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert (report.rows_loaded, report.already_loaded) == (2, 1)


def test_redelivered_file_loads_once(warehouse, landing, pseudonymizer) -> None:
    shutil.copy(landing / LEADS, landing / "crm/intake_leads/intake_leads_202601.resend.csv")
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert report.files_with("duplicate_file") == [
        "crm/intake_leads/intake_leads_202601.resend.csv"]
    assert report.rows_loaded == 2
    assert warehouse.execute("select duplicate_of from raw._load_ledger "
                             "where status = 'duplicate_file'").fetchone() == (LEADS,)


def test_file_changed_in_place_loads_only_its_new_records(warehouse, landing,
                                                          pseudonymizer) -> None:
    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    path = landing / LEADS
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1].replace("LEAD-1", "LEAD-7")]) + "\n")
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert report.rows_loaded == 1
    assert report.reasons["duplicate_record"] == 3  # LEAD-1, LEAD-2 and LEAD-1's copy again


def test_pseudonymization_key_is_required_outside_demo_mode() -> None:
    with pytest.raises(ConfigurationError, match="RW_PSEUDONYMIZATION_KEY is not set"):
        resolve_key({})
    assert resolve_key({"RW_DEMO_MODE": "1"}) == (DEMO_KEY, True)
    strong = "3f9a0c47be21d58e6a7f0b3c94d2e1a8" * 2  # what `openssl rand -hex 32` prints
    assert resolve_key({"RW_PSEUDONYMIZATION_KEY": strong, "RW_DEMO_MODE": "1"}) == (
        strong, False)
    assert resolve_key({"RW_PSEUDONYMIZATION_KEY": strong}) == (strong, False)


@pytest.mark.parametrize("key", [
    "short",
    " " * 16,  # sixteen spaces (issue 10)
    "k" * 64,  # one repeated character, however long
    "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc",  # few distinct characters
    "0123456789abcdef" * 2,  # 32 hex digits: 16 bytes, half of what is needed
])
def test_weak_keys_are_refused_with_how_to_make_one(key: str) -> None:
    with pytest.raises(ConfigurationError, match=r"too weak.*openssl rand -hex 32"):
        resolve_key({"RW_PSEUDONYMIZATION_KEY": key})


def test_demo_key_is_refused_outside_demo_mode() -> None:
    with pytest.raises(ConfigurationError, match="published demo key"):
        resolve_key({"RW_PSEUDONYMIZATION_KEY": DEMO_KEY, "RW_DEMO_MODE": "0"})
    assert resolve_key({"RW_PSEUDONYMIZATION_KEY": DEMO_KEY, "RW_DEMO_MODE": "1"}) == (
        DEMO_KEY, True)


def test_base64_key_of_32_random_bytes_is_accepted() -> None:
    key = "q8V1mZ2xR7kP0sLw9YtN3bH6cJ4eF5gA1dUoIiEr+/k="  # `openssl rand -base64 32`
    assert resolve_key({"RW_PSEUDONYMIZATION_KEY": key}) == (key, False)


def test_keyed_hash_depends_on_the_key_and_the_kind_of_identifier(pseudonymizer) -> None:
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from orchestration.ingest.pseudonymize import (
        DERIVATION_LABEL,
        IDENTIFIER_TYPES,
        MRN,
        WEB_CLIENT_ID,
        Pseudonymizer,
    )
    from tests.conftest import TEST_KEY

    assert pseudonymizer("12345", MRN) == pseudonymizer("12345", MRN)
    assert pseudonymizer("12345", MRN) != Pseudonymizer("another-key-0123456789")("12345", MRN)
    assert len(pseudonymizer("12345", MRN)) == 32 and pseudonymizer(None, MRN) is None
    # One derived key per kind: the same string hashes differently as an MRN and a web id.
    assert len({pseudonymizer("12345", kind) for kind in IDENTIFIER_TYPES}) == len(
        IDENTIFIER_TYPES)
    # The derivation is RFC 5869 HKDF-SHA256 with the kind as label, then HMAC-SHA256.
    mrn_key = HKDF(hashes.SHA256(), 32, None, (DERIVATION_LABEL + MRN).encode()).derive(
        TEST_KEY.encode())
    assert pseudonymizer("12345", MRN) == hmac.new(mrn_key, b"12345",
                                                   hashlib.sha256).hexdigest()[:32]
    assert pseudonymizer.fingerprint != Pseudonymizer("another-key-0123456789").fingerprint
    assert TEST_KEY not in pseudonymizer.fingerprint and len(pseudonymizer.fingerprint) == 16
    with pytest.raises(ValueError, match="unknown identifier type"):
        pseudonymizer("12345", "phone")
    assert WEB_CLIENT_ID in IDENTIFIER_TYPES


def test_a_load_with_another_key_is_refused_naming_both_fingerprints(warehouse, landing,
                                                                     pseudonymizer) -> None:
    from orchestration.ingest.pseudonymize import Pseudonymizer

    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    loaded = warehouse.execute("select count(*) from raw.crm_intake_leads").fetchone()
    other = Pseudonymizer("another-key-0123456789abcdef")
    with pytest.raises(ConfigurationError) as refused:
        load(warehouse, landing, "web_ga4_events", other)
    message = str(refused.value)
    assert pseudonymizer.fingerprint in message and other.fingerprint in message
    assert "referral-warehouse rekey" in message
    assert warehouse.execute("select count(*) from raw.crm_intake_leads").fetchone() == loaded
    assert load(warehouse, landing, "web_ga4_events", pseudonymizer).rows_loaded == 2
    # A warehouse loaded before fingerprints were recorded cannot be checked: refused too.
    warehouse.execute("delete from raw._pseudonymization_key")
    with pytest.raises(ConfigurationError, match="rebuild it from the landing folder"):
        load(warehouse, landing, "crm_intake_leads", pseudonymizer)


def test_landing_paths_are_relative_in_the_warehouse(warehouse, landing,
                                                     pseudonymizer) -> None:
    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    files = {r[0] for r in warehouse.execute("select source_file from raw._load_ledger").fetchall()}
    assert files == {LEADS} and not any(Path(f).is_absolute() for f in files)
