"""Each entity's drift policy, applied the same way whatever the format, with a trace.

A CRM export that grows a column (drift of `columns`) and a GA4 event whose declared array
arrives as an object (drift of `data_type`), each under every action: the row quarantined,
the value dropped and the row loaded, or the whole file rejected. Every drift leaves one
trace row per file in `raw._schema_drift`, naming fields, never values.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
from orchestration.ingest.entities.entity_spec import DriftPolicy
from orchestration.ingest.loader import LoadReport, load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer

LEADS = "crm/intake_leads/intake_leads_202601.csv"
EVENTS = "web/events_20260105.ndjson"
COLUMN_DETAIL = "column(s) territory are not in the CRM intake_leads export contract"
TYPE_DETAIL = "$.event_params is OBJECT, the web_ga4_events contract expects ARRAY"


def _load(con: duckdb.DuckDBPyConnection, landing: Path, table: str, policy: DriftPolicy,
          pseudonymizer: Pseudonymizer) -> LoadReport:
    spec = replace(ENTITIES_BY_TABLE[table], drift=policy)
    return load_entity(con, spec, landing, pseudonymizer, run_id="test")


def _trace(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select source_file, drift, detail, action, records "
                       "from raw._schema_drift order by all").fetchall()


def _grow_a_column(landing: Path) -> None:
    """Keep the leads export's two good rows, with a column the contract does not know."""
    path = landing / LEADS
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0] + ",territory", lines[1] + ",NE", lines[2] + ",SW"])
                    + "\n")


def _change_a_type(landing: Path) -> None:
    """Make the first event's event_params (an array by contract) an object."""
    path = landing / EVENTS
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["event_params"] = {"key": "ga_session_id"}
    path.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


@pytest.mark.parametrize("action", ["discard_row", "discard_value", "freeze"])
def test_a_new_csv_column(action: str, warehouse, landing, pseudonymizer) -> None:
    _grow_a_column(landing)
    report = _load(warehouse, landing, "crm_intake_leads", DriftPolicy(columns=action),
                   pseudonymizer)
    loaded = warehouse.execute(
        "select lead_id, status from raw.crm_intake_leads order by all").fetchall()
    quarantined = warehouse.execute(
        "select reason, count(*) from raw._quarantine group by 1").fetchall()
    ledger = warehouse.execute(
        "select status, rows_read, rows_loaded, rows_quarantined from raw._load_ledger"
    ).fetchall()
    assert _trace(warehouse) == [(LEADS, "columns", COLUMN_DETAIL, action, 2)]
    if action == "discard_row":
        assert (loaded, quarantined, ledger) == ([], [("unexpected_column", 2)],
                                                 [("loaded", 2, 0, 2)])
    elif action == "discard_value":  # loaded as if the column were not there
        assert (loaded, quarantined, ledger) == (
            [("LEAD-1", "new"), ("LEAD-2", "contacted")], [], [("loaded", 2, 2, 0)])
    else:
        assert (loaded, quarantined, ledger) == ([], [], [("rejected", 0, 0, 0)])
        assert [f.status for f in report.files] == ["rejected"]
        detail = warehouse.execute("select detail from raw._load_ledger").fetchone()[0]
        assert detail == (f"schema drift (columns): {COLUMN_DETAIL}; the crm_intake_leads "
                          "contract is frozen: nothing of the file is loaded until the entity "
                          "spec declares the change")


@pytest.mark.parametrize("action", ["discard_row", "discard_value", "freeze"])
def test_a_json_field_of_another_type(action: str, warehouse, landing, pseudonymizer) -> None:
    before = _load(duckdb.connect(), landing, "web_ga4_events", DriftPolicy(), pseudonymizer)
    _change_a_type(landing)
    _load(warehouse, landing, "web_ga4_events", DriftPolicy(data_type=action), pseudonymizer)
    rows = warehouse.execute("""select event_timestamp, event_param_keys is null,
        ga_session_id from raw.web_ga4_events order by _record_number""").fetchall()
    reasons = dict(warehouse.execute(
        "select reason, count(*) from raw._quarantine group by 1").fetchall())
    assert _trace(warehouse) == [(EVENTS, "data_type", TYPE_DETAIL, action, 1)]
    first_event = 1767607200123456
    if action == "discard_row":
        assert first_event not in [r[0] for r in rows]
        assert reasons == {**before.reasons, "unexpected_type": 1}
    elif action == "discard_value":  # loaded, with the drifted field (and what it held) NULL
        assert (first_event, True, None) in rows
        assert len(rows) == before.rows_loaded and reasons == dict(before.reasons)
    else:
        assert rows == [] and reasons == {}
        assert warehouse.execute("select status from raw._load_ledger").fetchall() == [
            ("rejected",)]


def test_a_file_without_drift_leaves_no_trace(warehouse, landing, pseudonymizer) -> None:
    _load(warehouse, landing, "crm_intake_leads", DriftPolicy(columns="freeze"), pseudonymizer)
    assert _trace(warehouse) == []
    assert warehouse.execute("select status from raw._load_ledger").fetchall() == [("loaded",)]


def test_a_policy_is_one_of_the_actions_the_loader_knows() -> None:
    with pytest.raises(ValueError, match="no 'evolve'"):
        DriftPolicy(columns="evolve")

def test_each_source_declares_the_policy_the_docs_give() -> None:
    """docs/loading.md, "Schema drift": the CRM's new columns wait in quarantine; JSON and
    HL7 read declared fields only; a declared field of another type quarantines its record."""
    declared = {(spec.source, spec.drift.columns, spec.drift.data_type)
                for spec in ENTITIES_BY_TABLE.values()}
    assert declared == {("crm", "discard_row", "discard_row"),
                        ("ehr", "discard_value", "discard_row"),
                        ("scheduling", "discard_value", "discard_row"),
                        ("web", "discard_value", "discard_row")}
