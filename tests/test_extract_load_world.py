"""Extract-load end to end on a small generated world, checked against its ground truth."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from tests.conftest import TEST_KEY, simulate

STRUCTURAL = {"unparseable_json", "unparseable_message", "malformed_csv_row",
              "unexpected_column", "duplicate_record"}
VALID_SERVICE_REQUEST_STATUSES = {"draft", "active", "on-hold", "revoked", "completed",
                                  "entered-in-error", "unknown"}


class World:
    def __init__(self, root: Path) -> None:
        self.landing, truth_path = simulate(root)
        self.truth = [json.loads(line) for line in truth_path.read_text().splitlines()]
        self.con = connect(root / "warehouse.duckdb")
        pseudonymizer = Pseudonymizer(TEST_KEY)
        self.first = {s.table: load_entity(self.con, s, self.landing, pseudonymizer, "run-1")
                      for s in ENTITIES}
        self.counts = self.table_counts()
        self.second = {s.table: load_entity(self.con, s, self.landing, pseudonymizer, "run-2")
                       for s in ENTITIES}

    def table_counts(self) -> dict[str, int]:
        counts = {s.table: self.con.execute(f"select count(*) from raw.{s.table}").fetchone()[0]
                  for s in ENTITIES}
        for table in ("_quarantine", "_load_ledger"):
            counts[table] = self.con.execute(f"select count(*) from raw.{table}").fetchone()[0]
        return counts

    def truth_of(self, *defects: str) -> list[dict]:
        return [t for t in self.truth if t["defect"] in defects]

    def unreadable_ids(self, entity: str) -> set[str]:
        """Ids of records the simulator made unparseable: they are rightly not loaded."""
        return {t["record_id"].split("/")[1] for t in self.truth_of("unparseable_json")
                if t["entity"] == entity}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("world"))


def test_every_structurally_broken_record_is_quarantined_with_its_reason(world: World) -> None:
    expected = {(t["file"], t["record_number"], t["defect"]) for t in world.truth_of(*STRUCTURAL)}
    quarantined = set(world.con.execute(
        "select source_file, record_number, reason from raw._quarantine").fetchall())
    assert len(expected) > 20
    assert quarantined == expected


def test_duplicate_files_load_once(world: World) -> None:
    expected = {(t["file"], t["duplicate_of"]) for t in world.truth_of("duplicate_file")}
    ledger = set(world.con.execute("select source_file, duplicate_of from raw._load_ledger "
                                   "where status = 'duplicate_file'").fetchall())
    assert len(expected) == 3 and ledger == expected


def test_read_equals_loaded_plus_quarantined(world: World) -> None:
    for table, report in world.first.items():
        assert report.rows_read == report.rows_loaded + report.rows_quarantined, table
        assert world.counts[table] == report.rows_loaded, table
    total_quarantined = sum(r.rows_quarantined for r in world.first.values())
    assert world.counts["_quarantine"] == total_quarantined


def test_records_read_equal_records_written_by_the_simulator(world: World) -> None:
    skipped = {t["file"] for t in world.truth_of("duplicate_file")}
    written = 0
    for path in world.landing.rglob("*"):
        relative = path.relative_to(world.landing).as_posix()
        if not path.is_file() or relative in skipped or path.name.startswith("."):
            continue
        if path.suffix == ".ndjson":
            written += sum(1 for line in path.read_text().splitlines() if line.strip())
        elif path.suffix == ".csv":
            written += len(path.read_text().splitlines()) - 1
        elif path.suffix == ".hl7":
            batch = path.read_bytes().decode()
            written += batch.count("\rMSH|") + batch.startswith("MSH|")
    assert sum(r.rows_read for r in world.first.values()) == written


def test_second_run_loads_nothing_and_changes_nothing(world: World) -> None:
    for table, report in world.second.items():
        assert (report.rows_read, report.files) == (0, []), table
        assert report.already_loaded == len(world.first[table].files), table
    assert world.table_counts() == world.counts


def test_business_rule_breaks_load_as_delivered(world: World) -> None:
    bad_status = {t["record_id"].split("/")[1] for t in world.truth_of("invalid_status")
                  if t["entity"] == "service_request"}
    loaded_bad = {r[0] for r in world.con.execute(
        "select service_request_id, status from raw.ehr_service_request").fetchall()
        if r[1] not in VALID_SERVICE_REQUEST_STATUSES}
    assert bad_status and loaded_bad == bad_status
    missing_source = {(t["file"], t["record_number"])
                      for t in world.truth_of("missing_referral_source")
                      if t["entity"] == "service_request"}
    assert missing_source == set(world.con.execute(
        "select _source_file, _record_number from raw.ehr_service_request "
        "where referral_source_code is null and requester_reference is null").fetchall())
    orphans = {t["record_id"] for t in world.truth_of("orphan_appointment")}
    unread = {i.upper() for i in world.unreadable_ids("service_request")}
    loaded_orphans = {r[0] for r in world.con.execute("""
        select message_control_id, referral_id from raw.scheduling_siu_messages m
        where not exists (select 1 from raw.ehr_service_request s
                          where s.referral_number = m.referral_id)""").fetchall()
        if r[1] not in unread}
    assert orphans and loaded_orphans == orphans


def test_world_is_linked(world: World) -> None:
    con = world.con
    unlinked = {r[0] for r in con.execute("""select based_on_service_request_id
        from raw.ehr_encounter e where not exists (
        select 1 from raw.ehr_service_request s
        where s.service_request_id = e.based_on_service_request_id)""").fetchall()}
    assert unlinked <= world.unreadable_ids("service_request")
    unlinked = {r[0] for r in con.execute("""select c.encounter_id from raw.ehr_claim c
        where not exists (select 1 from raw.ehr_encounter e
                          where e.encounter_id = c.encounter_id)""").fetchall()}
    assert unlinked <= world.unreadable_ids("encounter")
    assert con.execute("""select count(*) from raw.crm_intake_leads l
        where l.converted_referral_id is not null and not exists (
        select 1 from raw.ehr_service_request s
        where s.referral_number = l.converted_referral_id)""").fetchone()[0] == 0
    # Scheduling and EHR know the same patients: the MRN hash links them.
    assert con.execute("""select count(*) from raw.scheduling_siu_messages m
        join raw.ehr_patient p on p.mrn_key = m.patient_mrn_key""").fetchone()[0] > 0


def test_late_updates_arrive_as_second_versions(world: World) -> None:
    late = {t["record_id"].split("/")[1] for t in world.truth_of("late_update")
            if t["entity"] == "service_request"}
    versions = dict(world.con.execute("""select service_request_id, count(*)
        from raw.ehr_service_request group by 1 having count(*) > 1""").fetchall())
    assert late and set(versions) == late - world.unreadable_ids("service_request")


def test_shape_follows_published_rates(world: World) -> None:
    con = world.con
    shares = [r[0] for r in con.execute("""
        select count(*) as n from raw.ehr_service_request s
        join raw.ehr_practitioner p on 'Practitioner/' || p.practitioner_id = s.requester_reference
        group by s.requester_reference order by n desc""").fetchall()]
    top = shares[: max(1, len(shares) // 5)]
    # A few dozen referrers over four months: the 80/20 rule, give or take sampling.
    assert 0.6 <= sum(top) / sum(shares) <= 0.95
    booked = con.execute("select count(distinct filler_appointment_id) from "
                         "raw.scheduling_siu_messages where trigger_event = 'S12'").fetchone()[0]
    no_shows = con.execute("select count(*) from raw.scheduling_siu_messages "
                           "where trigger_event = 'S26'").fetchone()[0]
    assert 0.08 <= no_shows / booked <= 0.3


def _text_values(con: duckdb.DuckDBPyConnection) -> list[str]:
    values: list[str] = []
    columns = con.execute("""select table_schema, table_name, column_name
        from information_schema.columns
        where data_type in ('VARCHAR', 'JSON') and table_schema = 'raw'""").fetchall()
    for schema, table, column in columns:
        values.extend(r[0] for r in con.execute(
            f'select distinct cast("{column}" as varchar) from {schema}.{table} '
            f'where "{column}" is not null').fetchall())
    return values


def _identifiers(landing: Path) -> dict[str, set]:
    people: dict[str, set] = {"names": set(), "mrns": set(), "phones": set(), "emails": set(),
                              "streets": set(), "births": set(), "staff": set(),
                              "patient_ids": set()}
    for path in landing.glob("ehr/*/Patient.*.ndjson"):
        for line in path.read_text().splitlines():
            try:
                patient = json.loads(line)
            except json.JSONDecodeError:
                continue
            people["names"].add((patient["name"][0]["given"][0].lower(),
                                 patient["name"][0]["family"].lower()))
            people["mrns"].add(patient["identifier"][0]["value"])
            people["patient_ids"].add(patient["id"])
            people["phones"].add(patient["telecom"][0]["value"])
            people["streets"].add(patient["address"][0]["line"][0])
            people["births"].add(patient["birthDate"])
    for path in landing.glob("crm/intake_leads/*.csv"):
        for line in path.read_text().splitlines()[1:]:
            fields = line.split(",")
            if len(fields) > 6:
                people["names"].add((fields[2].lower(), fields[3].lower()))
                people["phones"].add(fields[4])
                people["emails"].add(fields[5])
    for path in landing.glob("ehr/*/Practitioner.*.ndjson"):
        for line in path.read_text().splitlines():
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            people["staff"].add((doc["name"][0]["given"][0].lower(),
                                 doc["name"][0]["family"].lower()))
    for path in landing.glob("crm/liaison_activities/*.csv"):
        for line in path.read_text().splitlines()[1:]:
            owner = line.split(",")[3].lower().split()
            if len(owner) >= 2:
                people["staff"].add((owner[0], owner[-1]))
    return people


def test_no_direct_identifier_reaches_the_warehouse(world: World) -> None:
    people = _identifiers(world.landing)
    assert len(people["mrns"]) > 50 and len(people["names"]) > 50
    values = _text_values(world.con)
    text = "\n".join(values)
    words = re.findall(r"[a-z0-9']+", text.lower())
    pairs = set(itertools.pairwise(words))
    leaked_names = {n for n in people["names"] - people["staff"]
                    if n in pairs or (n[1], n[0]) in pairs}
    assert leaked_names == set()
    assert set(re.findall(r"M\d{8}", text)) & people["mrns"] == set()
    assert set(re.findall(r"pat-\d{7}", text)) & people["patient_ids"] == set()
    assert set(re.findall(r"\(\d{3}\) \d{3}-\d{4}", text)) & people["phones"] == set()
    assert {e for e in people["emails"] if e and e in text} == set()
    assert {s for s in people["streets"] if s in text} == set()
    assert set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) & people["births"] == set()


def test_quarantine_counts_per_reason_match_the_report(world: World) -> None:
    reported: Counter[str] = Counter()
    for report in world.first.values():
        reported.update(report.reasons)
    stored = Counter(dict(world.con.execute(
        "select reason, count(*) from raw._quarantine group by 1").fetchall()))
    assert stored == reported
