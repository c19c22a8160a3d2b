"""Real feeds (issue 8): shapes the standards allow, bad records and files, and no leaks.

The whole-run test delivers the hand-made world plus one bad record or file in every source,
each carrying a marker in the names, phones and streets it holds, runs the command line as an
operator would, and looks for the marker in everything the run wrote: the warehouse, the
serving copy, the Data Docs, Dagster's storage and logs, and the console.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.entities.source_contracts import generated_sources, sources_path
from orchestration.ingest.readers import hl7_reader
from orchestration.ingest.warehouse import ensure_tables
from orchestration.quality.suites import load_suites
from orchestration.quality.validate import NPI_MACRO
from tests.conftest import CRM_ENTITIES, HANDMADE_LANDING, load
from tests.hl7_fields import read_fields

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "referral-warehouse"
MARKER = "QXZVLEAKMARKER"
NPI = "http://hl7.org/fhir/sid/us-npi"


# ----- the contract ---------------------------------------------------------------------------
@pytest.mark.parametrize("source", sorted({spec.source for spec in ENTITIES}))
def test_sources_yaml_is_what_the_entity_specs_generate(source: str) -> None:
    assert sources_path(source).read_text() == generated_sources(source), (
        "regenerate with: .venv/bin/python -m orchestration.ingest.entities.source_contracts")


def test_raw_suites_read_only_declared_columns() -> None:
    """Every raw suite's batch query binds against tables made from the entity specs alone,
    and every column its expectations name is in that batch."""
    checked = 0
    with duckdb.connect() as con:
        for spec in ENTITIES:
            ensure_tables(con, spec)
        con.execute(NPI_MACRO)
        for suite in load_suites():
            if suite.asset_key[0] != "raw":
                continue
            batch = {row[0] for row in con.execute(f"describe {suite.batch_sql}").fetchall()}
            for expectation in suite.expectations:
                column = expectation.get("kwargs", {}).get("column")
                if column:
                    assert column in batch, f"{suite.name}: {column} is not in its batch"
                    checked += 1
    assert checked >= 10


# ----- HL7 framing ----------------------------------------------------------------------------
MESSAGE = ("MSH|^~\\&|PM|RIVERBEND|WH|WH|20260105091500||SIU^S12|C1|P|{version}",
           "SCH|APT1^PMS|APT1^PMS|||||||30|min|^^30^20260120140000^20260120143000")


@pytest.mark.parametrize("version", ["2.2", "2.3.1", "2.5.1", "2.8"])
@pytest.mark.parametrize("framing", ["cr", "lf", "crlf", "mllp", "batch"])
def test_siu_messages_split_under_every_framing(framing: str, version: str) -> None:
    segments = [line.format(version=version) for line in MESSAGE]
    ends = {"cr": "\r", "lf": "\n", "crlf": "\r\n", "mllp": "\r", "batch": "\r"}[framing]
    message = ends.join(segments) + ends
    if framing == "mllp":
        text = "".join(f"\x0b{message}\x1c\r" for _ in range(3))
    elif framing == "batch":
        text = f"FHS|^~\\&|PM{ends}BHS|^~\\&|PM{ends}" + message * 3 + f"BTS|3{ends}FTS|1{ends}"
    else:
        text = message * 3
    messages = list(hl7_reader.split_messages(text))
    assert len(messages) == 3
    fields = read_fields(messages[:1])[0]
    assert fields["_reject_reason"] is None
    assert (fields["msh_10"], fields["msh_12"], fields["sch_2"]) == ("C1", version, "APT1")
    assert fields["sch_11_4"] == "2026-01-20T14:00:00+00:00"


def test_latin1_hl7_file_loads(tmp_path: Path, warehouse, pseudonymizer) -> None:
    landing = tmp_path / "landing"
    (landing / "scheduling").mkdir(parents=True)
    body = "\r".join(line.format(version="2.3") for line in MESSAGE) + "\rPID|1||9^^^R^MR||MÜLLER\r"
    (landing / "scheduling" / "latin1.hl7").write_bytes(body.encode("iso-8859-1"))
    report = load(warehouse, landing, "scheduling_siu_messages", pseudonymizer)
    assert (report.rows_read, report.rows_loaded) == (1, 1)


# ----- references in the marts ----------------------------------------------------------------
def test_every_reference_shape_reaches_the_marts(handmade_world: Path) -> None:
    """The hand-made world names referrers by role, conditionally, absolutely, logically and
    in contained resources (tests/fixtures/handmade/README.md); each resolves to its
    practitioner, and every hand-worked number stays what it was."""
    with duckdb.connect(str(handmade_world / "warehouse.duckdb"), read_only=True) as con:
        referrers = dict(con.execute(
            "select referral_id, referring_practitioner_id || ' ' || referring_provider_npi "
            "from marts.fct_referrals where referral_id in "
            "('ref-1', 'ref-2', 'ref-3', 'ref-4', 'ref-5')").fetchall())
        receivers = dict(con.execute(
            "select referral_id, receiving_organization_id from marts.fct_referrals "
            "where referral_id in ('ref-3', 'ref-8')").fetchall())
        unresolved = con.execute(
            "select count(*) from intermediate.int_fhir_references_unresolved").fetchone()[0]
    assert referrers == {"ref-1": "prac-ref1 1234567893",  # PractitionerRole/role-ref1
                         "ref-2": "prac-ref1 1234567893",  # absolute, versioned
                         "ref-3": "prac-ref1 1234567893",  # conditional by NPI
                         "ref-4": "prac-ref2 1555444334",  # logical identifier
                         "ref-5": "prac-ref2 1555444334"}  # contained #r
    assert receivers == {"ref-3": "org-card", "ref-8": "org-out"}
    assert unresolved == 0


# ----- a whole run over bad feeds ---------------------------------------------------------------
def _bad_world(root: Path) -> Path:
    """The hand-made world plus one bad record or file in every source."""
    landing = root / "landing"
    shutil.copytree(HANDMADE_LANDING, landing)
    for entity in CRM_ENTITIES:
        (landing / "crm" / entity).mkdir(parents=True, exist_ok=True)
    export = landing / "ehr" / "export_20260401"
    export.mkdir()
    patient = {"resourceType": "Patient", "id": "pat-x", "name": [{"family": MARKER}],
               "telecom": [{"system": "phone", "value": f"555-{MARKER}"}],
               "address": [{"line": [f"1 {MARKER} Street"]}], "birthDate": "1970-01-01"}
    lines = [json.dumps(patient),
             json.dumps(patient).replace(MARKER, MARKER + "\x01", 1),  # a control byte
             json.dumps(patient).replace("pat-x", "pat-y").encode().replace(
                 MARKER.encode(), b"\xff" + MARKER.encode(), 1).decode("latin-1"),
             '{"resourceType": "Patient", "id": "pat-z", "name": [{"family": "' + MARKER]
    (export / "Patient.ndjson").write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    referral = {"resourceType": "ServiceRequest", "id": "ref-noauthored", "status": "active",
                "intent": "order", "meta": {"lastUpdated": "2026-03-30T08:00:00Z"},
                "subject": {"reference": "Patient/pat-x"},
                "requester": {"reference": "#gone"},  # contained, but not there
                "performer": [{"reference": "Organization/org-card"}]}
    (export / "ServiceRequest.ndjson").write_text(json.dumps(referral) + "\n")
    (export / "manifest.json").write_text(json.dumps({"output": [
        {"type": "Patient", "url": "Patient.ndjson"},
        {"type": "ServiceRequest", "url": "ServiceRequest.ndjson"},
        {"type": "Encounter", "url": "Encounter-missing.ndjson"},
        {"type": "Observation", "url": "Observation.ndjson"}]}))
    (export / "Observation.ndjson").write_text("{}\n")
    # Scheduling: MLLP framing, an MSH-10 reused for another trigger event, a broken message.
    booked = ("MSH|^~\\&|PM|RIVERBEND|WH|WH|20260330090000||SIU^S12|DUP1|P|2.5.1\r"
              "SCH|APT900^PMS|APT900^PMS|||||||30|min|^^30^20260410140000^20260410143000"
              "||||||||||||||Booked|REF-1\r"
              f"PID|1||77^^^R^MR||{MARKER}^ANN||19700101|F|||1 {MARKER} St^^X^OH^43215\r")
    cancelled = booked.replace("S12", "S15").replace("20260330090000", "20260331090000")
    broken = f"MSH|^~\\&|PM\rPID|1||77^^^R^MR||{MARKER}\r"
    (landing / "scheduling" / "mllp_20260331.hl7").write_text(
        "".join(f"\x0b{m}\x1c\r" for m in (booked, cancelled, broken)))
    # CRM: a file whose header is another export's, and a row with an open quote.
    (landing / "crm" / "intake_leads" / "leads_other_header.csv").write_text(
        f"id,name,phone\n1,{MARKER},555-{MARKER}\n")
    (landing / "crm" / "referring_practices" / "practices_open_quote.csv").write_text(
        "practice_id,practice_name,practice_npi,city,state,postal_code,phone,liaison_owner,"
        "network_status,created_date,last_modified_at\n"
        f'P-9,"{MARKER} Clinic,,Columbus,OH,43215,555-{MARKER},,,2026-01-01,'
        "2026-01-01T00:00:00Z\n"
        "P-10,Elm Clinic,,Columbus,OH,43215,,,,2026-01-01,2026-01-01T00:00:00Z\n")
    # Web: a consent-mode event without user_pseudo_id; a file with event_params as an object.
    event = json.loads((landing / "web").glob("*.ndjson").__next__().read_text().splitlines()[0])
    cookieless = {k: v for k, v in event.items() if k != "user_pseudo_id"}
    (landing / "web" / "events_20260330.ndjson").write_text(json.dumps(cookieless) + "\n")
    drifted = {**event, "event_params": {"page_location": f"https://x/?name={MARKER}"}}
    (landing / "web" / "events_20260331.ndjson").write_text(json.dumps(drifted) + "\n")
    return landing


def test_a_run_over_bad_feeds_builds_every_mart_and_leaks_nothing(tmp_path: Path) -> None:
    landing = _bad_world(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "orchestration" / "dagster.yaml", home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RW_")}
    env.update(DAGSTER_HOME=str(home), RW_DEMO_MODE="1", RW_LANDING_DIR=str(landing),
               RW_WAREHOUSE_PATH=str(tmp_path / "warehouse.duckdb"),
               RW_QUALITY_DIR=str(tmp_path / "quality"), RW_SERVING_DIR=str(tmp_path / "serving"),
               RW_LOG_LEVEL="DEBUG")
    run = subprocess.run([str(CLI), "run"], env=env, cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    console = run.stdout + run.stderr
    assert run.returncode == 0, console[-3000:]
    # Every problem is reported, by file, without content.
    assert "rejected crm/intake_leads/leads_other_header.csv: the header lacks" in console
    assert "Encounter-missing.ndjson, which is not in the export folder" in console
    assert "not loaded: 1 file(s) of FHIR Observation" in console
    # The progress display: a line per finished step, as it ends, with counts, not content.
    assert re.search(r"\d+\.\ds  raw__ehr_patient +[\d,]+ rows loaded in \d+\.\ds\n", run.stdout)
    assert re.search(r"\d+\.\ds  extract_load +[\d,]+ rows loaded, \d+ checks", run.stdout)
    assert re.search(r"\d+\.\ds  dbt_warehouse_assets +\d+ tables, views and seeds built, "
                     r"\d+ checks", run.stdout)
    assert console.count("Pseudonymizing with the DEMO key") == 1  # once per run
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        reasons = dict(con.execute("select entity || ':' || reason, count(*) "
                                   "from raw._quarantine group by 1").fetchall())
        marts = dict(con.execute("select table_name, estimated_size from duckdb_tables() "
                                 "where schema_name = 'marts'").fetchall())
        # A requester that names nothing resolvable is `unresolved` (issue 21), not null.
        referral = con.execute("select referred_at_source, requester_type = 'unresolved' from "
                               "intermediate.int_service_requests_resolved "
                               "where referral_id = 'ref-noauthored'").fetchone()
        unresolved = con.execute("select problem from intermediate.int_fhir_references_unresolved"
                                 ).fetchall()
        sessions = con.execute("select count(*) from staging.stg_web__events "
                               "where not has_analytics_consent").fetchone()[0]
        events = con.execute("select count(distinct message_control_id), count(*) from "
                             "staging.stg_scheduling__appointment_events "
                             "where message_control_id = 'DUP1'").fetchone()
    assert reasons == {"ehr_patient:invalid_encoding": 1, "ehr_patient:unparseable_json": 2,
                       "scheduling_siu_messages:unparseable_message": 1,
                       "crm_referring_practices:unbalanced_quote": 1,
                       "web_ga4_events:unexpected_type": 1}
    assert len(marts) >= 8 and all(rows > 0 for rows in marts.values())
    assert referral == ("first_last_updated", True)
    assert unresolved == [("contained_without_identifier",)]
    assert sessions == 1 and events == (1, 2)
    # Nothing the run wrote holds the marker.
    assert MARKER not in console
    leaks = [path for path in tmp_path.rglob("*") if path.is_file()
             and not path.is_relative_to(landing) and MARKER.encode() in path.read_bytes()]
    assert not leaks
    # DuckDB may compress strings on disk: ask the databases themselves too.
    assert _duckdb_text_leaks(tmp_path / "warehouse.duckdb") == []
    assert _duckdb_text_leaks(tmp_path / "serving" / "referral_marts.duckdb") == []
    assert _duckdb_text_leaks(tmp_path / "serving" / "operations.duckdb") == []


def _duckdb_text_leaks(path: Path) -> list[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("select schema_name, table_name, column_name from duckdb_columns() "
                              "where data_type = 'VARCHAR'").fetchall()
        return [f"{s}.{t}.{c}" for s, t, c in columns if con.execute(
            f'select count(*) from "{s}"."{t}" where "{c}" like ?', [f"%{MARKER}%"]
        ).fetchone()[0]]
