"""CRM CSV exports and GA4 export events through the loader."""

from __future__ import annotations

import datetime
import json

from orchestration.ingest.entities.ga4_entities import LAST_MICROSECOND
from orchestration.ingest.pseudonymize import EMAIL, WEB_CLIENT_ID, WEB_USER_ID
from tests.conftest import load


def test_leads_drop_contact_details_and_flag_bad_rows(warehouse, landing,
                                                      pseudonymizer) -> None:
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 2, 3)
    assert warehouse.execute("""select lead_id, contact_key, birth_year, is_aged_90_or_older,
        postal_code_3, referral_source, has_referral_source_other, status
        from raw.crm_intake_leads order by _record_number""").fetchall() == [
        ("LEAD-1", pseudonymizer("adaeze.okafor@example.net", EMAIL), 1961, False, "432", "web",
         False, "new"),
        ("LEAD-2", pseudonymizer("alan@example.net", EMAIL), 1950, False, "430", "other", True,
         "contacted"),  # the free text ("Health fair, downtown") is not loaded, only its flag
    ]
    assert warehouse.execute("""select record_number, reason, detail from raw._quarantine
        order by record_number""").fetchall() == [
        (4, "malformed_csv_row", "20 fields where the header has 19"),
        (5, "invalid_value", "created_at is not a valid TIMESTAMPTZ"),
        (6, "duplicate_record",
         "same record as crm/intake_leads/intake_leads_202601.csv record 2"),
    ]


def test_missing_column_rejects_the_file_naming_the_column(warehouse, landing,
                                                           pseudonymizer) -> None:
    path = landing / "crm" / "intake_leads" / "intake_leads_202601.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].replace(",status,", ",state,"), *lines[1:]]) + "\n")
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert [(f.file, f.status) for f in report.files] == [
        ("crm/intake_leads/intake_leads_202601.csv", "rejected")]
    assert warehouse.execute("select status, detail from raw._load_ledger").fetchall() == [
        ("rejected", "the header lacks required column(s) status of the CRM intake_leads "
                     "export")]
    again = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert again.files == [] and again.already_loaded == 1  # not retried in the same content


def test_unexpected_column_quarantines_the_file_rows(warehouse, landing, pseudonymizer) -> None:
    path = landing / "crm" / "intake_leads" / "intake_leads_202601.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",territory", lines[1] + ",NE", lines[2] + ",SW"])
                    + "\n")
    report = load(warehouse, landing, "crm_intake_leads", pseudonymizer)
    assert report.rows_loaded == 0 and report.reasons == {"unexpected_column": 2}
    assert warehouse.execute("select distinct detail from raw._quarantine").fetchall() == [
        ("column(s) territory are not in the CRM intake_leads export contract (policy: "
         "discard the row until the spec has them)",)]


def test_ga4_events_keep_param_names_paths_and_hashed_ids(warehouse, landing,
                                                         pseudonymizer) -> None:
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 2, 1)
    rows = warehouse.execute("""select event_name, event_timestamp, ga_session_id, lead_id,
        form_name, utm_source, utm_medium, utm_campaign, user_key, event_param_keys, page_path,
        user_pseudo_id from raw.web_ga4_events order by _record_number""").fetchall()
    assert rows[0][:9] == ("session_start", 1767607200123456, 1767607200, None, None,
                           "google", "cpc", "cardio_q1",
                           pseudonymizer("patient-portal-778", WEB_USER_ID))
    assert rows[1][:9] == ("generate_lead", 1767607380000001, 1767607200, "LEAD-1",
                           "referral_request", None, None, None, None)
    # Names of the parameters, never their values; the path without host or query string.
    assert rows[1][9] == "ga_session_id,page_location,form_name,lead_id"
    assert (rows[0][10], rows[1][10]) == ("/services/cardiology",
                                          "/forms/referral_request/thank-you")
    assert rows[0][11] == pseudonymizer("1234567890.1767607200", WEB_CLIENT_ID)
    columns = {c[0] for c in warehouse.execute("describe raw.web_ga4_events").fetchall()}
    assert not columns & {"geo_city", "event_params", "page_location"}


def test_an_event_time_no_engine_represents_is_quarantined(warehouse, landing,
                                                           pseudonymizer) -> None:
    # A BIGINT at its limit (a sentinel) or before 1970 is no time a model can convert;
    # converting one raised and failed the run. The last microsecond of 9999 loads.
    events = landing / "web" / "events_20260105.ndjson"
    first = json.loads(events.read_text().splitlines()[0])
    times = [str(2**63 - 1), "-5", str(LAST_MICROSECOND)]
    events.write_text("".join(json.dumps({**first, "event_timestamp": t, "event_name": n})
                              + "\n" for n, t in zip("abc", times, strict=True)))
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert (report.rows_loaded, report.reasons) == (1, {"invalid_value": 2})
    outside = f"event_timestamp is outside 0 to {LAST_MICROSECOND}"
    assert warehouse.execute("select record_number, detail from raw._quarantine "
                             "order by 1").fetchall() == [(1, outside), (2, outside)]
    assert warehouse.execute("select event_name, make_timestamp(event_timestamp) "
                             "from raw.web_ga4_events").fetchall() == [
        ("c", datetime.datetime(9999, 12, 31, 23, 59, 59, 999999))]
