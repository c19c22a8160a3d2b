"""The coordinator's and the liaison's Monday marts on the hand-made world: worklist, Four
C's scorecard, referrer forecast and liaison activity lift. Every number was worked out on
paper (tests/fixtures/handmade/README.md, "Monday morning")."""

from __future__ import annotations

import csv

import duckdb
import numpy as np
import pytest

from orchestration.quality.suites import SEEDS_DIR
from tests.conftest import rows


@pytest.fixture(scope="module")
def marts(handmade_marts: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return handmade_marts


def test_the_worklist_names_each_open_referral_its_reason_wait_and_liaison(marts) -> None:
    # As of Monday Mar 30; Presidents' Day (Feb 16) and the weekends do not count.
    assert rows(marts, """
        select referral_number, worklist_reason, cast(waiting_since_at as date)::varchar,
               business_days_waiting, practice_name, liaison_name, is_leaked
        from marts.fct_referral_worklist order by business_days_waiting desc""") == [
        ("REF-2", "consult_note_overdue", "2026-02-03", 38, "Oak Family Practice",
         "Pat Liaison", False),
        ("REF-13", "booked_slot_passed", "2026-02-09", 34, "Oak Family Practice",
         "Pat Liaison", True),
        ("REF-6", "not_scheduled", "2026-02-15", 30, "Oak Family Practice", "Pat Liaison",
         True),
        ("REF-5", "not_rebooked", "2026-02-24", 24, "Oak Family Practice", "Pat Liaison",
         True),
        ("REF-9", "consult_note_overdue", "2026-03-09", 15, "Riverbend Primary Care", None,
         False),
        ("REF-10", "consult_note_overdue", "2026-03-16", 10, None, None, False),
        ("REF-7", "not_scheduled", "2026-03-20", 6, "Oak Family Practice", "Pat Liaison",
         False),
    ]


def test_each_item_is_due_by_its_reason_s_business_days_and_overdue_after(marts) -> None:
    """Due dates worked out on paper across weekends and Presidents' Day (README)."""
    assert rows(marts, """
        select referral_number, due_date::varchar, business_days_until_due, is_overdue,
               as_of_date::varchar
        from marts.fct_referral_worklist order by due_date, referral_number""") == [
        ("REF-13", "2026-02-10", -33, True, "2026-03-30"),
        ("REF-2", "2026-02-12", -31, True, "2026-03-30"),
        ("REF-6", "2026-02-25", -23, True, "2026-03-30"),
        ("REF-5", "2026-02-26", -22, True, "2026-03-30"),
        ("REF-9", "2026-03-18", -8, True, "2026-03-30"),
        ("REF-10", "2026-03-25", -3, True, "2026-03-30"),
        ("REF-7", "2026-03-31", 1, False, "2026-03-30"),
    ]


def test_due_dates_agree_with_numpy_s_business_day_offsets(marts) -> None:
    """An independent count: numpy.busday_offset with the same holidays and reasons seeds."""
    with (SEEDS_DIR / "holidays.csv").open(encoding="utf-8") as seed:
        holidays = [row["holiday_date"] for row in csv.DictReader(seed)]
    with (SEEDS_DIR / "worklist_reasons.csv").open(encoding="utf-8") as seed:
        allowed = {row["worklist_reason"]: int(row["listed_after_business_days"])
                   + int(row["due_within_business_days"]) for row in csv.DictReader(seed)}
    items = rows(marts, """select worklist_reason, cast(waiting_since_at as date), due_date
                           from marts.fct_referral_worklist""")
    assert len(items) == 7
    for reason, since, due in items:
        # A wait that starts on a weekend or holiday counts from the business day before.
        assert due == np.busday_offset(np.datetime64(since), allowed[reason], roll="backward",
                                       holidays=holidays).astype(object)


def test_business_days_agree_with_numpy_s_business_day_calendar(marts) -> None:
    """An independent count: numpy.busday_count with the same holidays seed."""
    with (SEEDS_DIR / "holidays.csv").open(encoding="utf-8") as seed:
        holidays = [row["holiday_date"] for row in csv.DictReader(seed)]
    waits = rows(marts, """select cast(waiting_since_at as date), business_days_waiting,
        (select cast(as_of_at as date) from intermediate.int_reporting_dates)
        from marts.fct_referral_worklist""")
    assert len(waits) == 7
    for since, waited, as_of in waits:
        # Days after the start day, up to and including the as-of day.
        assert waited == np.busday_count(np.datetime64(since) + 1, np.datetime64(as_of) + 1,
                                         holidays=holidays)


def test_the_scorecard_gives_each_practice_its_four_cs(marts) -> None:
    assert rows(marts, """
        select practice_key, practice_name, cast(referral_quarter as varchar),
               is_window_closed, referred_count, attended_count, median_days_to_first_visit,
               round(loop_closure_rate, 4), median_days_to_loop_close,
               target_window_referral_count, seen_within_target_count,
               round(seen_within_target_rate, 4), round(stayed_in_network_rate, 4)
        from marts.fct_referrer_scorecard order by 1""") == [
        ("ACC-1", "Oak Family Practice", "2026-01-01", False, 9, 3, 22.0, 0.6667, 11.5,
         8, 1, 0.125, 0.4444),
        ("org-pc", "Riverbend Primary Care", "2026-01-01", False, 2, 1, 17.0, 0.0, None,
         2, 1, 0.5, 0.5),
    ]


def test_the_forecast_gives_an_interval_on_a_short_series(marts) -> None:
    assert rows(marts, """
        select referring_practitioner_id, history_days, history_referral_count,
               is_rate_changed, round(expected_count, 4), dispersion, lower_count, upper_count,
               recent_referral_count, prior_expected_count, is_slipping
        from marts.fct_referrer_forecast order by 1""") == [
        ("prac-pcp", 84, 2, False, 2.1429, 0.0, 0, 5, 2, None, None),
        ("prac-ref1", 84, 5, False, 5.3571, 0.0, 1, 10, 5, None, None),
        ("prac-ref2", 84, 4, False, 4.2857, 0.0, 1, 9, 4, None, None),
    ]


def test_liaison_lift_compares_with_practices_nobody_visited(marts) -> None:
    assert rows(marts, """
        select activity_type, activity_type_name, liaison_name, activity_count,
               shortest_window_days, is_window_complete, referrals_before_count,
               referrals_after_count, comparison_practice_count,
               visited_change_per_activity, comparison_change_per_practice,
               lift_per_activity, is_small_sample, reliability
        from marts.fct_liaison_activity_lift""") == [
        # Cut short (46 of 90 days) before it is small: insufficient data, not a lift.
        ("lunch_and_learn", "Lunch and learn", "Pat Liaison", 1, 46, False, 7, 2, 1,
         -5.0, 0.0, -5.0, True, "insufficient_data"),
    ]


def test_the_funnel_as_it_stood_at_each_past_month_end(marts) -> None:
    assert rows(marts, """
        select cast(as_of_at as varchar), is_current, cast(referral_month as varchar),
               referred_count, scheduled_count, attended_count, loop_closed_count,
               revoked_count
        from marts.fct_referral_funnel_as_of order by 1, 3""") == [
        ("2026-02-01 00:00:00", False, "2026-01-01", 6, 4, 1, 1, 1),
        ("2026-03-01 00:00:00", False, "2026-01-01", 6, 4, 2, 1, 1),
        ("2026-03-01 00:00:00", False, "2026-02-01", 4, 3, 0, 0, 0),
        ("2026-03-30 09:00:00", True, "2026-01-01", 6, 4, 2, 1, 2),
        ("2026-03-30 09:00:00", True, "2026-02-01", 4, 3, 2, 1, 0),
        ("2026-03-30 09:00:00", True, "2026-03-01", 3, 2, 1, 0, 0),
    ]
    # Today's point is today's funnel.
    assert rows(marts, """
        select referral_month, referred_count, scheduled_count, attended_count,
               loop_closed_count from marts.fct_referral_funnel_as_of where is_current
        except
        select referral_month, sum(referred_count), sum(scheduled_count),
               sum(attended_count), sum(loop_closed_count)
        from marts.fct_referral_funnel group by referral_month""") == []
