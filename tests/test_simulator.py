"""The source simulator: determinism, a linked world, realistic shape, injected defects."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from source_simulator.npi import break_npi, luhn_check_digit, make_npi
from tests.conftest import simulate


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_and_scale_give_byte_identical_files(tmp_path: Path) -> None:
    first_landing, first_truth = simulate(tmp_path / "a")
    second_landing, second_truth = simulate(tmp_path / "b")
    assert _digest(first_landing) == _digest(second_landing)
    assert first_truth.read_bytes() == second_truth.read_bytes()
    other_landing, _ = simulate(tmp_path / "c", seed=8)
    assert _digest(other_landing) != _digest(first_landing)


def test_npi_check_digit_matches_cms_example() -> None:
    # CMS's worked example: base 123456789 with prefix 80840 has check digit 3.
    assert luhn_check_digit("80840123456789") == 3
    npi = make_npi(123456789)
    assert npi == "1234567893"
    assert break_npi(npi) == "123456789O"  # an odd base: a letter typed for the last digit
    even = make_npi(123456788)
    assert break_npi(even)[:9] == even[:9] and break_npi(even)[9] != even[9]
    assert break_npi(even)[9].isdigit()


def test_clean_world_has_no_defects_and_spoiled_world_has_every_kind(tmp_path: Path) -> None:
    _, clean_truth = simulate(tmp_path / "clean", clean=True)
    # Late updates are how incremental exports work, not a defect: a clean world has them.
    # The standards' shapes (Tasks, UBRNs, lab orders...) are how real feeds look, not defects.
    clean = {json.loads(line)["defect"] for line in clean_truth.read_text().splitlines()}
    assert clean == {"late_update", "standards_shape"}
    _, truth = simulate(tmp_path / "spoiled")
    kinds = Counter(json.loads(line)["defect"] for line in truth.read_text().splitlines())
    assert set(kinds) == {
        "unparseable_json", "unparseable_message", "malformed_csv_row", "unexpected_column",
        "duplicate_record", "duplicate_file", "missing_referral_source", "invalid_status",
        "invalid_npi", "orphan_appointment", "late_update", "standards_shape"}


def test_clean_and_spoiled_worlds_share_the_same_referrals(tmp_path: Path) -> None:
    clean, _ = simulate(tmp_path / "clean", clean=True)
    spoiled, _ = simulate(tmp_path / "spoiled")

    def referral_ids(landing: Path) -> set[str]:
        ids = set()
        for path in landing.glob("ehr/*/ServiceRequest.*.ndjson"):
            for line in path.read_text().splitlines():
                try:
                    ids.add(json.loads(line)["id"])
                except json.JSONDecodeError:
                    continue
        return ids

    _, truth = simulate(tmp_path / "truth")
    corrupted = {json.loads(line)["record_id"].split("/")[1]
                 for line in truth.read_text().splitlines()
                 if '"unparseable_json"' in line and '"service_request"' in line}
    assert referral_ids(spoiled) <= referral_ids(clean)
    assert referral_ids(clean) - referral_ids(spoiled) <= corrupted


def test_referral_volume_follows_the_80_20_rule() -> None:
    from datetime import date
    from random import Random

    from source_simulator.rates import WorldRates
    from source_simulator.world import build_world

    world = build_world(Random(42), 1.0, date(2025, 11, 1), date(2026, 10, 31), WorldRates())
    weights = sorted((d.weight for d in world.community_referrers), reverse=True)
    top_share = sum(weights[: len(weights) // 5]) / sum(weights)
    assert len(weights) > 100 and top_share == pytest.approx(0.80, abs=0.005)


def test_the_simulators_code_lists_agree_with_the_seeds() -> None:
    """Seeds are the one home of code lists; the simulator writes source data with them
    (and writes its deliberate defects with codes the seeds do not hold)."""
    from orchestration.quality.suites import seed_values
    from source_simulator import crm, ehr, siu, world

    assert {code for code, _ in crm.ACTIVITY_TYPES} == set(
        seed_values("liaison_activity_types.activity_type"))
    assert set(siu.TRIGGERS) == set(seed_values("siu_trigger_events.trigger_event"))
    assert {s.code for s in world.SPECIALTIES} <= set(
        seed_values("specialty_taxonomy.taxonomy_code"))
    assert {payer[2] for payer in world.PAYERS} <= set(
        seed_values("payer_classes.payer_class_code"))
    assert not set(ehr.INVALID_STATUSES) & set(
        seed_values("service_request_statuses.status_code"))
