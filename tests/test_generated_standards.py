"""The generated world speaks the referral standards (source_simulator/workflow.py): every
shape its ground truth lists becomes what the truth says, in the warehouse `make run` builds."""

from __future__ import annotations

import json

import duckdb
import pytest


@pytest.fixture(scope="module")
def world(demo_run):
    root, landing, result = demo_run
    assert result.success
    truth = [json.loads(line) for line in
             (landing.parent / "ground_truth.jsonl").read_text().splitlines()]
    shapes = [t for t in truth if t["defect"] == "standards_shape"]
    # A record the simulator spoiled on purpose (unparseable, invalid status) is the defect
    # tests' business, not this one's.
    spoiled = {t["record_id"] for t in truth if t["defect"] != "standards_shape"}
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield con, [s for s in shapes if s["record_id"] not in spoiled]
    con.close()


def _by_shape(shapes: list[dict], shape: str) -> dict[str, dict]:
    found = {s["record_id"].split("/")[1]: s["expect"] for s in shapes if s["shape"] == shape}
    assert found, f"the generated world has no {shape}"
    return found


def test_orders_and_drafts_beside_referrals_are_counted_as_what_they_are(world) -> None:
    con, shapes = world
    kinds = {row[0]: row[1:] for row in con.execute("""select service_request_id,
        service_request_kind, exclusion_reason from marts.fct_service_requests""").fetchall()}
    for shape in ("lab_order", "draft"):
        for record, expect in _by_shape(shapes, shape).items():
            kind, reason = kinds[record]
            assert reason == expect["exclusion_reason"], record
            assert kind == expect.get("service_request_kind", kind), record
    counted = {r[0] for r in con.execute(
        "select referral_id from marts.fct_referrals").fetchall()}
    assert not counted & {*_by_shape(shapes, "lab_order"), *_by_shape(shapes, "draft")}


def test_ubrns_number_referrals_and_scheduling_joins_by_them(world) -> None:
    con, shapes = world
    ubrns = _by_shape(shapes, "ubrn")
    numbers = dict(con.execute("""select referral_id, referral_number
        from marts.fct_referrals""").fetchall())
    assert {r: numbers.get(r) for r in ubrns} == {r: e["referral_number"]
                                                 for r, e in ubrns.items()}
    booked = con.execute("""select count(*) from marts.fct_referrals
        where referral_number in (select unnest(?)) and appointment_count > 0""",
                         [[e["referral_number"] for e in ubrns.values()]]).fetchone()[0]
    assert booked > len(ubrns) / 2  # most referrals are booked; SIU quotes their UBRN


def test_identifier_only_subjects_join_their_patient(world) -> None:
    con, shapes = world
    subjects = _by_shape(shapes, "identifier_only_subject")
    sources = dict(con.execute("""select referral_id, patient_key_source
        from intermediate.int_service_requests_resolved""").fetchall())
    assert {sources[r] for r in subjects if r in sources} == {"identifier_matched"}


def test_rejections_on_the_task_leak_as_rejected_by_the_receiver(world) -> None:
    con, shapes = world
    rejected = _by_shape(shapes, "task_rejected")
    reasons = dict(con.execute("""select referral_id, leakage_reason
        from marts.fct_referrals""").fetchall())
    assert {reasons[r] for r in rejected if r in reasons} == {"rejected_by_receiver"}
    assert con.execute("""select count(*) from marts.fct_referrals
        where leakage_reason = 'rejected_by_receiver'""").fetchone()[0] == len(
        [r for r in rejected if r in reasons])


def test_appointments_copied_beside_siu_never_double_a_booking(world) -> None:
    con, _ = world
    doubled = con.execute("""select count(*) from (
        select referral_id, slot_start_at from intermediate.int_appointment_events_unioned
        where is_booking group by all
        having count(distinct scheduling_source) > 1)""").fetchone()[0]
    fhir_only = con.execute("""select count(distinct referral_id)
        from intermediate.int_appointment_events_unioned
        where scheduling_source = 'fhir_appointment'""").fetchone()[0]
    assert doubled == 0 and fhir_only > 0
