"""Bad input and bad configuration: clear errors, nothing half-loaded, nothing loaded twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.load.errors import ConfigurationError, LandingFolderError, SourceFileError
from orchestration.load.pseudonymize import DEMO_KEY, resolve_key
from tests.conftest import load

LEADS = "crm/intake_leads/intake_leads_202601.csv"


def _counts(con) -> tuple[int, int, int]:
    return tuple(con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                 for t in ("crm_intake_leads", "_quarantine", "_load_ledger"))


def test_missing_landing_folder_names_it(warehouse, tmp_path, pseudonymizer) -> None:
    with pytest.raises(LandingFolderError, match=r"nowhere does not exist.*RW_LANDING_DIR"):
        load(warehouse, tmp_path / "nowhere", "crm_intake_leads", pseudonymizer)


def test_missing_source_folder_names_it(warehouse, landing, pseudonymizer) -> None:
    shutil.rmtree(landing / "web")
    with pytest.raises(LandingFolderError, match=r"web does not exist.*ga4_events"):
        load(warehouse, landing, "web_ga4_events", pseudonymizer)


def test_manifest_listing_a_missing_file_names_both(warehouse, landing, pseudonymizer) -> None:
    (landing / "ehr/export_20260204/Encounter.ndjson").unlink()
    with pytest.raises(SourceFileError, match=r"manifest\.json: output entry 4 lists "
                                              r"Encounter\.ndjson, which is not"):
        load(warehouse, landing, "ehr_encounter", pseudonymizer)


def test_manifest_that_is_not_json_is_an_error(warehouse, landing, pseudonymizer) -> None:
    (landing / "ehr/export_20260204/manifest.json").write_text("{not json")
    with pytest.raises(SourceFileError, match="not a valid bulk-export manifest"):
        load(warehouse, landing, "ehr_patient", pseudonymizer)


def test_empty_file_is_recorded_not_failed(warehouse, landing, pseudonymizer) -> None:
    (landing / "web/events_20260106.ndjson").write_text("")
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert report.files_with("empty") == ["web/events_20260106.ndjson"]
    assert report.rows_read == 3


def test_failed_batch_leaves_earlier_data_and_ledger_as_they_were(warehouse, landing,
                                                                 pseudonymizer) -> None:
    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    before = _counts(warehouse)
    good = landing / "crm/intake_leads/intake_leads_202602.csv"
    lines = (landing / LEADS).read_text().splitlines()
    good.write_text("\n".join([lines[0], lines[1].replace("LEAD-1", "LEAD-9")]) + "\n")
    broken = landing / "crm/intake_leads/intake_leads_202603.csv"
    broken.write_text("lead_id,created_at\nLEAD-10,2026-03-01T00:00:00Z\n")
    with pytest.raises(SourceFileError, match=r"intake_leads_202603\.csv"):
        load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert _counts(warehouse) == before
    broken.unlink()
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert (report.rows_loaded, report.already_loaded) == (1, 1)


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
    with pytest.raises(ConfigurationError, match="at least 16"):
        resolve_key({"RW_PSEUDONYMIZATION_KEY": "short"})
    assert resolve_key({"RW_DEMO_MODE": "1"}) == (DEMO_KEY, True)
    assert resolve_key({"RW_PSEUDONYMIZATION_KEY": "k" * 32, "RW_DEMO_MODE": "1"}) == (
        "k" * 32, False)


def test_keyed_hash_depends_on_the_key(pseudonymizer) -> None:
    from orchestration.load.pseudonymize import Pseudonymizer

    assert pseudonymizer("12345") == pseudonymizer("12345")
    assert pseudonymizer("12345") != Pseudonymizer("another-key-0123456789")("12345")
    assert len(pseudonymizer("12345")) == 32 and pseudonymizer(None) is None


def test_landing_paths_are_relative_in_the_warehouse(warehouse, landing,
                                                     pseudonymizer) -> None:
    load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    files = {r[0] for r in warehouse.execute("select source_file from raw._load_ledger").fetchall()}
    assert files == {LEADS} and not any(Path(f).is_absolute() for f in files)
