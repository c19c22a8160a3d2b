"""FHIR bulk NDJSON: official R4 examples and hand-written referrals through the loader."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from orchestration.ingest.pseudonymize import FHIR_PATIENT_ID, MRN, Pseudonymizer
from tests.conftest import FIXTURES, TEST_KEY, load


def patient(fhir_id: str) -> str:
    """The keyed hash of a FHIR Patient id under the tests' key."""
    return Pseudonymizer(TEST_KEY)(fhir_id, FHIR_PATIENT_ID)

@pytest.mark.parametrize(("name", "valid_lines"), [
    ("Patient", 2), ("Practitioner", 2), ("ServiceRequest", 2), ("Encounter", 1)])
def test_fixture_resources_meant_to_be_valid_are_valid_r4(name: str, valid_lines: int) -> None:
    """The leading lines of each fixture are real R4; the lines after them are broken."""
    lines = (FIXTURES / "fhir" / f"{name}.ndjson").read_text().splitlines()
    for line in lines[:valid_lines]:
        get_fhir_model_class(name).model_validate(json.loads(line))


def test_patient_keeps_only_pseudonymized_and_coarse_fields(warehouse, landing,
                                                            pseudonymizer) -> None:
    report = load(warehouse, landing, "ehr_patient", pseudonymizer)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 2, 2)
    assert report.reasons == {"unparseable_json": 1, "wrong_resource_type": 1}
    rows = warehouse.execute("""select patient_key, mrn_key, gender, birth_year, postal_code_3,
        state, _record_number from raw.ehr_patient order by _record_number""").fetchall()
    assert rows[0] == (patient("example"), pseudonymizer("12345", MRN), "male", 1974, "399",
                       "Vic", 1)
    assert rows[1][:5] == (patient("pat-0000002"), pseudonymizer("M40000014", MRN), "female",
                           1961, "432")
    columns = [r[0] for r in warehouse.execute(
        "select column_name from information_schema.columns where table_name = 'ehr_patient'"
    ).fetchall()]
    for forbidden in ("name", "family", "given", "telecom", "phone", "address", "birth_date",
                      "mrn"):
        assert forbidden not in columns


def test_quarantine_names_file_line_and_reason(warehouse, landing, pseudonymizer) -> None:
    load(warehouse, landing, "ehr_patient", pseudonymizer)
    rows = warehouse.execute("""select source_file, record_number, reason, detail
        from raw._quarantine order by record_number""").fetchall()
    assert rows == [
        ("ehr/export_20260204/Patient.ndjson", 3, "unparseable_json",
         "line is not a JSON object"),
        ("ehr/export_20260204/Patient.ndjson", 4, "wrong_resource_type",
         "resourceType is Practitioner, this file holds Patient"),
    ]


def test_service_request_references_and_types(warehouse, landing, pseudonymizer) -> None:
    report = load(warehouse, landing, "ehr_service_request", pseudonymizer)
    assert report.reasons == {"invalid_value": 1, "missing_required_field": 1}
    first, second = warehouse.execute("""
        select service_request_id, status, referral_number, patient_key, requester_reference,
               performer_reference, second_performer_reference,
               performer_type_code, location_reference, coverage_id, referral_source_code,
               cast(authored_at as varchar), version_id, reason_codes->>'$[0].coding[0].code'
        from raw.ehr_service_request order by _record_number""").fetchall()
    assert first == ("ref-0000001", "completed", "REF-0000001", patient("example"),
                     "Practitioner/prac-000002", "Practitioner/example",
                     "Organization/org-00002", "207RC0000X", "Location/loc-card01", "cov-1",
                     "physician", "2026-01-05 14:30:00+00", "2", "49601007")
    # An absolute reference still resolves to the same pseudonymized patient; a date-only
    # authoredOn is midnight UTC; a self-referral has no requester.
    assert second[:7] == ("ref-0000002", "active", None, patient("pat-0000002"), None,
                          "Organization/org-00009", None)
    assert second[10:12] == ("self_referral", "2026-01-07 00:00:00+00")
    details = dict(warehouse.execute(
        "select record_number, detail from raw._quarantine").fetchall())
    assert details == {3: "authored_at is not a valid TIMESTAMPTZ",
                       4: "service_request_id is required but empty"}


def test_practitioner_npi_loads_as_delivered(warehouse, landing, pseudonymizer) -> None:
    load(warehouse, landing, "ehr_practitioner", pseudonymizer)
    assert warehouse.execute("select practitioner_id, npi, family_name from "
                             "raw.ehr_practitioner order by 1").fetchall() == [
        ("example", "1234567893", "Careful"), ("prac-000002", "1234567890", "Reyes")]


def test_encounter_based_on_referral(warehouse, landing, pseudonymizer) -> None:
    load(warehouse, landing, "ehr_encounter", pseudonymizer)
    assert warehouse.execute("""select encounter_id, status, class_code,
        based_on_service_request_id, patient_key from raw.ehr_encounter""").fetchall() == [
        ("example", "in-progress", "IMP", "ref-0000001", patient("example"))]


def test_manifest_entries_for_other_types_are_ignored(warehouse, landing,
                                                      pseudonymizer) -> None:
    report = load(warehouse, landing, "ehr_claim", pseudonymizer)
    assert report.files == [] and report.rows_read == 0
