"""The FHIR Bulk Data client against a real server process that follows the specification.

Each run ends with every resource landed once, in the layout the loader reads, or with a clear
failure and nothing half-written; the next run asks with ``_since``. Faults are the server's
(rate limits, outages, expiring tokens, cut downloads, missing files, cancelled exports), never
injected into the client.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from orchestration.extract.bulk_data_client import BulkExportError, ExportCancelled, FileGone
from orchestration.extract.bulk_data_resource import FhirBulkDataResource
from orchestration.extract.bulk_export import STAGING, STATE_FILE, run_export
from orchestration.extract.bulk_export_asset import ERRORS_CHECK, fhir_bulk_export
from orchestration.extract.landing_resource import LandingResource
from orchestration.extract.smart_backend_auth import TokenError
from orchestration.ingest.entities.fhir_entities import FHIR_ENTITIES
from orchestration.ingest.landing import discover
from tests.extract.conftest import CLIENT_ID, EXPORTS, write_key_pair
from tests.servers.bulk_data_server import LEAKY_DIAGNOSTICS

TYPES = sorted({entity.resource_type for entity in FHIR_ENTITIES})


def _resource(server, private_key: Path, **overrides) -> FhirBulkDataResource:
    settings = {"base_url": server.fhir_url, "group_id": "cardiology", "client_id": CLIENT_ID,
                "private_key_file": str(private_key), "resource_types": TYPES,
                "default_wait_seconds": 0.1, **overrides}
    return FhirBulkDataResource(**settings)


def _export(server, private_key: Path, landing: Path, **overrides):
    client = _resource(server, private_key, **overrides).client()
    return run_export(client, landing, TYPES, "cardiology", lambda message: None)


def _landed(landing: Path) -> dict[str, dict[str, bytes]]:
    """Each landed export folder's NDJSON files, by name."""
    return {folder.name: {f.name: f.read_bytes() for f in sorted(folder.glob("*.ndjson"))}
            for folder in sorted((landing / "ehr").glob("export_*"))}


def _expected(export: Path) -> dict[str, bytes]:
    """A hand-made export's files as the client names them (<Type>.<n>.ndjson)."""
    return {f"{f.name.split('.')[0]}.000.ndjson": f.read_bytes()
            for f in sorted(export.glob("*.ndjson"))}


def _nothing_half_written(landing: Path) -> None:
    assert not (landing / "ehr").exists() or not list((landing / "ehr").iterdir())
    assert not list((landing / STAGING).glob("export_*"))
    state = landing / STAGING / STATE_FILE
    assert not state.exists() or "pending_status_url" not in json.loads(state.read_text())


def test_an_export_lands_as_the_loader_reads_it_and_the_next_asks_since(
        tmp_path: Path, bulk_server, client_keys) -> None:
    server = bulk_server()
    landing = tmp_path / "landing"
    resources = {"fhir_bulk": _resource(server, client_keys[0]),
                 "landing": LandingResource(landing_dir=str(landing))}
    first = dg.materialize([fhir_bulk_export], resources=resources)
    assert first.success
    assert _landed(landing) == {"export_20260110T000000Z": _expected(EXPORTS[0])}
    manifest = json.loads((landing / "ehr" / "export_20260110T000000Z" / "manifest.json")
                          .read_text())
    assert manifest["transactionTime"] == "2026-01-10T00:00:00Z"
    assert {e["type"]: e["count"] for e in manifest["output"]} == {
        "Location": 1, "Organization": 4, "Patient": 2, "Practitioner": 4,
        "PractitionerRole": 4, "ServiceRequest": 2}
    # The loader reads what landed, and rejects nothing.
    for entity in FHIR_ENTITIES:
        found = discover(landing, entity)
        assert not found.rejected
    assert len(discover(landing, next(e for e in FHIR_ENTITIES
                                      if e.resource_type == "ServiceRequest")).files) == 1
    checks = first.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [(ERRORS_CHECK, True)]

    second = dg.materialize([fhir_bulk_export], resources=resources)
    assert second.success
    kickoffs = server.kickoffs()
    assert "_since" not in kickoffs[0] and kickoffs[1]["_since"] == ["2026-01-10T00:00:00Z"]
    assert kickoffs[0]["_type"] == [",".join(TYPES)]
    assert set(_landed(landing)) == {"export_20260110T000000Z", "export_20260331T000000Z"}
    assert _landed(landing)["export_20260331T000000Z"] == _expected(EXPORTS[1])
    # Read scopes only, for exactly the types asked for; both exports deleted on the server.
    requests = server.requests()
    scopes = {r["scope"] for r in requests if "token_issued" in r}
    assert scopes == {" ".join(f"system/{t}.rs" for t in TYPES)}
    assert [r.get("method") for r in requests].count("DELETE") == 2
    # No token, key or resource content in any event Dagster recorded.
    events = json.dumps([str(e) for e in first.all_events + second.all_events])
    tokens = [r["token_issued"] for r in requests if "token_issued" in r]
    private_key = client_keys[0].read_text().splitlines()[1]
    assert not [secret for secret in [*tokens, private_key, "Hana", "MRN1"] if secret in events]


@pytest.mark.parametrize("fault", ["rate-limit", "unavailable", "token-expires",
                                   "cut-download"])
def test_the_server_s_transient_faults_still_land_every_resource_once(
        tmp_path: Path, bulk_server, client_keys, fault: str) -> None:
    server = bulk_server(fault)
    landing = tmp_path / "landing"
    result = _export(server, client_keys[0], landing)
    assert _landed(landing) == {"export_20260110T000000Z": _expected(EXPORTS[0])}
    assert sum(result.resources_by_type.values()) == 17
    requests = server.requests()
    if fault == "token-expires":
        assert len([r for r in requests if "token_issued" in r]) == 2
    if fault == "cut-download":
        assert [r["range"] for r in requests if r.get("range")] != []
    if fault in ("rate-limit", "unavailable"):
        paths = [r["path"] for r in requests if "path" in r]
        asked_twice = "/status/" if fault == "rate-limit" else "$export"
        assert sum(asked_twice in p for p in paths) >= 2


def test_the_server_s_error_files_are_reported_by_code_never_by_text(
        tmp_path: Path, bulk_server, client_keys) -> None:
    server = bulk_server("errors")
    landing = tmp_path / "landing"
    resources = {"fhir_bulk": _resource(server, client_keys[0]),
                 "landing": LandingResource(landing_dir=str(landing))}
    result = dg.materialize([fhir_bulk_export], resources=resources)
    check = result.get_asset_check_evaluations()[0]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["issues"].value == {"warning/processing": 1}
    assert LEAKY_DIAGNOSTICS not in json.dumps([str(e) for e in result.all_events])
    assert _landed(landing) == {"export_20260110T000000Z": _expected(EXPORTS[0])}


@pytest.mark.parametrize(("fault", "error", "says"), [
    ("kickoff-500", BulkExportError, "kick-off of Group/cardiology/$export answered HTTP 500 "
                                     "(OperationOutcome error/exception)"),
    ("missing-file", FileGone, "file 7 of 7 (ServiceRequest) answered HTTP 404"),
    ("cancel", ExportCancelled, "no longer has the export (HTTP 404"),
])
def test_a_failed_export_leaves_nothing_and_the_next_run_asks_for_the_same_window(
        tmp_path: Path, bulk_server, client_keys, fault: str, error: type, says: str) -> None:
    landing = tmp_path / "landing"
    with pytest.raises(error) as raised:
        _export(bulk_server(fault), client_keys[0], landing)
    assert says in str(raised.value)
    assert LEAKY_DIAGNOSTICS not in str(raised.value)
    _nothing_half_written(landing)
    healthy = bulk_server()
    _export(healthy, client_keys[0], landing)
    assert "_since" not in healthy.kickoffs()[0]
    assert _landed(landing) == {"export_20260110T000000Z": _expected(EXPORTS[0])}


def test_an_export_cut_off_for_good_resumes_where_it_stopped(
        tmp_path: Path, bulk_server, client_keys) -> None:
    """A run that gives up halfway (as a killed one would) leaves a resumable export."""
    server = bulk_server("cut-download")
    landing = tmp_path / "landing"
    client = _resource(server, client_keys[0]).client()
    client._waits = type(client._waits)(default_seconds=0.1, retries=0)
    with pytest.raises(BulkExportError, match="was cut off"):
        run_export(client, landing, TYPES, "cardiology", lambda message: None)
    assert not (landing / "ehr").exists()
    assert list((landing / STAGING).glob("export_*/*.part"))
    _export(server, client_keys[0], landing)
    assert len(server.kickoffs()) == 1  # the same export, picked up again
    assert [r["range"] for r in server.requests() if r.get("range")] != []
    assert _landed(landing) == {"export_20260110T000000Z": _expected(EXPORTS[0])}


def test_a_key_the_ehr_does_not_hold_is_refused_with_no_secret_in_the_message(
        tmp_path: Path, bulk_server) -> None:
    stranger, _ = write_key_pair(tmp_path, "stranger")
    landing = tmp_path / "landing"
    with pytest.raises(TokenError, match=r"refused the client \(HTTP 401, invalid_client") \
            as raised:
        _export(bulk_server(), stranger, landing)
    assert stranger.read_text().splitlines()[1] not in str(raised.value)
    assert not (landing / "ehr").exists()
