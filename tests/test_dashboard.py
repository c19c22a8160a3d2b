"""The dashboard, headless with Streamlit's AppTest, on the hand-made world's serving copy."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import dashboard.data

APP = str(Path(__file__).parents[1] / "dashboard" / "app.py")


@pytest.fixture
def app(handmade_world: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RW_SERVING_DIR", str(handmade_world / "serving"))
    monkeypatch.setenv("RW_QUALITY_DIR", str(handmade_world / "quality"))

    def run(threshold: int = 11) -> AppTest:
        monkeypatch.setattr(dashboard.data, "SUPPRESS_BELOW", threshold)
        return AppTest.from_file(APP, default_timeout=60).run()

    return run


FUNNEL_METRICS = ("Referred", "Scheduled", "Attended", "Loop closed", "Leaked", "Pending")


def _metrics(at: AppTest, labels: tuple[str, ...] | None = None) -> dict[str, str]:
    return {m.label: m.value for m in at.metric if labels is None or m.label in labels}


def test_every_section_renders_without_errors(app) -> None:
    at = app()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Funnel", "Leakage", "Referrers", "Retention",
                                          "Campaigns", "Data quality", "Worklist",
                                          "Scorecard", "Forecast", "Liaison lift"]
    assert len(at.dataframe) >= 7
    assert "small-number rule" in at.caption[0].value


def test_funnel_numbers_equal_the_marts(app, handmade_world: Path) -> None:
    with duckdb.connect(str(handmade_world / "serving" / "operations.duckdb"),
                        read_only=True) as con:
        sums = con.execute("select sum(referred_count), sum(scheduled_count), "
                           "sum(attended_count), sum(loop_closed_count) "
                           "from fct_referral_funnel").fetchone()
    assert sums == (13, 9, 5, 2)  # the hand-made world's funnel, worked out on paper
    assert _metrics(app(threshold=1), FUNNEL_METRICS) == {"Referred": "13", "Scheduled": "9",
                                          "Attended": "5", "Loop closed": "2",
                                          "Leaked": "6", "Pending": "2"}


def test_immature_months_are_marked(app) -> None:
    months = app(threshold=1).dataframe[0].value
    assert list(months["Month"]) == ["2026-01", "2026-02", "2026-03"]
    assert list(months["Window"]) == ["closed", "open: still maturing",
                                      "open: still maturing"]
    assert list(months["Referred"]) == ["6", "4", "3"]


def test_small_cells_are_suppressed(app) -> None:
    assert _metrics(app(), FUNNEL_METRICS) == {
        "Referred": "13", "Scheduled": "<11", "Attended": "<11", "Loop closed": "<11",
        "Leaked": "<11", "Pending": "<11"}
    leakage = app().dataframe[1].value
    assert set(leakage["Referrals"]) == {"<11"}
    assert set(leakage["Estimated lost revenue"]) == {"-"}


def test_filters_change_the_numbers(app) -> None:
    at = app(threshold=1)
    at.select_slider(key="months").set_value((date(2026, 1, 1), date(2026, 1, 1))).run()
    assert _metrics(at, FUNNEL_METRICS) == {"Referred": "6", "Scheduled": "4", "Attended": "2",
                            "Loop closed": "1", "Leaked": "4", "Pending": "0"}
    at.multiselect(key="directions").set_value(["Inbound"]).run()
    assert _metrics(at)["Referred"] == "5"
    at.multiselect(key="directions").set_value([])
    at.select_slider(key="months").set_value((date(2026, 1, 1), date(2026, 3, 1)))
    at.multiselect(key="channels").set_value(["Paid advertising"]).run()
    assert _metrics(at, FUNNEL_METRICS) == {"Referred": "2", "Scheduled": "2", "Attended": "1",
                            "Loop closed": "0", "Leaked": "0", "Pending": "1"}


def test_attribution_model_is_selectable(app) -> None:
    at = app(threshold=1)

    def leads(model: str) -> dict[str, str]:
        at.selectbox(key="attribution_model").set_value(model).run()
        table = next(d.value for d in at.dataframe if "Campaign" in d.value.columns)
        return dict(zip(table["Campaign"], table["Leads"], strict=True))

    assert leads("first_touch") == {"Cardiology paid search": "2",
                                    "Heart health email": "0",
                                    "Heart health newsletter": "1"}
    assert leads("last_touch") == {"Cardiology paid search": "1",
                                   "Heart health email": "1",
                                   "Heart health newsletter": "1"}


def _table(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_worklist_filters_by_liaison_and_reason_and_downloads(app) -> None:
    at = app(threshold=1)
    table = _table(at, "Business days waiting")
    assert list(table["Referral"]) == ["REF-13", "REF-2", "REF-6", "REF-5", "REF-9",
                                       "REF-10", "REF-7"]
    assert list(table["Business days waiting"]) == [34, 38, 30, 24, 15, 10, 6]
    assert set(table["Liaison"]) == {"Pat Liaison", "Unassigned"}
    at.multiselect(key="worklist_liaisons").set_value(["Unassigned"]).run()
    assert list(_table(at, "Business days waiting")["Referral"]) == ["REF-9", "REF-10"]
    at.multiselect(key="worklist_liaisons").set_value([])
    at.multiselect(key="worklist_reasons").set_value(["Not scheduled in time"]).run()
    assert list(_table(at, "Business days waiting")["Referral"]) == ["REF-6", "REF-7"]
    assert any(button.label == "Download as CSV" for button in at.get("download_button"))


def test_the_worklist_says_what_is_due_and_overdue_and_by_whom(app) -> None:
    """As of Monday Mar 30: six items overdue, REF-7 due tomorrow; 2 of 7 owned by nobody."""
    at = app(threshold=1)
    assert "Referrals to act on, as of Monday 30 March 2026" in [s.value for s in at.subheader]
    table = _table(at, "Business days waiting")
    assert list(table["Due"])[:2] == ["Tue 10 Feb", "Thu 12 Feb"]
    assert list(table["Status"]) == ["overdue 33 business days", "overdue 31 business days",
                                     "overdue 23 business days", "overdue 22 business days",
                                     "overdue 8 business days", "overdue 3 business days",
                                     "due in 1 business day"]
    # What a coordinator acts on comes first, before anything off to the right.
    assert list(table.columns)[:7] == ["Due", "Status", "Referral", "What to do", "Referrer",
                                       "Practice", "Liaison"]
    assert {k: v for k, v in _metrics(at).items() if k in (
        "On the list", "Overdue", "Due by the next business day", "Nobody owns")} == {
        "On the list": "7", "Overdue": "6", "Due by the next business day": "1",
        "Nobody owns": "29%"}
    owners = _table(at, "Owner (liaison)")
    assert owners.values.tolist() == [["Pat Liaison", 5, 4], ["Unassigned", 2, 2]]
    at.toggle(key="worklist_overdue").set_value(True).run()
    assert "REF-7" not in list(_table(at, "Business days waiting")["Referral"])


def test_the_sidebar_filters_reach_the_worklist_and_the_80_20_curve(app) -> None:
    at = app(threshold=1)
    at.multiselect(key="channels").set_value(["Paid advertising"]).run()
    assert list(_table(at, "Business days waiting")["Referral"]) == ["REF-10"]
    # The two paid-advertising referrals name no referring clinician: no curve to draw.
    assert not [c for c in at.caption if "top 20% of referrers" in c.value]
    at.multiselect(key="channels").set_value(["Physician referral"]).run()
    assert len(_table(at, "Business days waiting")) == 6
    # 11 referrals from 3 referrers: the top 20% (prac-ref1 alone, rank 1/3 > 0.2: none).
    assert any("filters do not apply" in c.value for c in at.caption)


def test_nobody_owns_lists_the_unowned_practices_largest_first(app) -> None:
    at = app(threshold=1)
    assert any("1 of 3 referrers" in m.value and "18%" in m.value for m in at.markdown)
    unowned = _table(at, "Referrals (all time)")
    assert unowned.values.tolist()[0][:2] == ["Riverbend Primary Care", 1]


def test_the_scorecard_shows_one_practice_in_words(app) -> None:
    at = app(threshold=1)
    # The busiest practice first: Oak (9 referrals) before Riverbend (2).
    assert at.selectbox(key="scorecard_practice").options == ["Oak Family Practice",
                                                              "Riverbend Primary Care"]
    card = next(t.value for t in at.table)
    assert list(card.index) == ["2026Q1 (still maturing)"]
    row = card.iloc[0]
    assert row["Referrals"] == "9"
    assert row["Capacity: median days to first visit"] == "22 days"
    assert row["Communication: consult notes sent"] == "66.7%"
    assert row["Communication: median days to the note"] == "11.5 days"
    assert row["Consistency: seen within target"] == "12.5%"
    assert row["Loyalty: stayed with us"] == "44.4%"
    assert any(b.label.startswith("Download to print") for b in at.get("download_button"))


def test_the_scorecard_says_fewer_than_11_and_builds_nothing_on_it(app) -> None:
    """Under the rule every Q1 count is small: words, never a "-" bullet, no median."""
    card = next(t.value for t in app().table)
    row = card.iloc[0]
    assert row["Referrals"] == "fewer than 11"
    assert row["Capacity: median days to first visit"] == "fewer than 11 visits"
    assert row["Communication: median days to the note"] == "fewer than 11 notes"
    assert row["Communication: consult notes sent"] == "fewer than 11 visits"
    assert row["Loyalty: stayed with us"] == "fewer than 11 referrals"
    assert not [v for v in card.to_numpy().ravel() if str(v).strip() in ("-", "")]


def test_the_forecast_and_lift_pages_show_the_marts(app) -> None:
    at = app(threshold=1)
    forecast = _table(at, "95% range")
    assert list(forecast["Expected"]) == ["5.4", "4.3", "2.1"]
    assert list(forecast["95% range"]) == ["1 to 10", "1 to 9", "0 to 5"]
    assert set(forecast["Trend"]) == {"not enough history"}
    lift = _table(at, "Lift per activity")
    assert lift.iloc[0].to_dict() == {
        "Activity": "Lunch and learn", "Liaison": "Pat Liaison", "Activities": 1,
        "Referrals before": 7, "Referrals after": 2, "Change per activity": "-5.0",
        "Unvisited practices' change": "+0.0", "Lift per activity": "insufficient data",
        "Reliability": "insufficient data: the window was cut short",
        "Window": "46 days (cut short)"}


def test_money_as_money_and_docs_over_http(app) -> None:
    import urllib.request

    at = app(threshold=1)
    at.selectbox(key="attribution_model").set_value("last_touch").run()
    table = _table(at, "Campaign")
    assert dict(zip(table["Campaign"], table["Spend"], strict=True)) == {
        "Cardiology paid search": "$500.00", "Heart health email": "$80.00",
        "Heart health newsletter": "$0.00"}
    assert dict(zip(table["Campaign"], table["ROI"], strict=True))["Heart health email"] == "250%"
    links = next(m.value for m in at.markdown if "Open the dbt docs" in m.value)
    urls = re.findall(r"\((http://[^)]+)\)", links)
    assert len(urls) == 2
    for url in urls:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read(2000).lower()
    base = url.rsplit("/", 2)[0]
    try:
        urllib.request.urlopen(f"{base}/referral_marts.duckdb", timeout=10)
        raise AssertionError("the marts file must not be served")
    except urllib.error.HTTPError as error:
        assert error.code == 404


def test_trend_bands_survive_small_cell_suppression() -> None:
    from dashboard.data import trend_band

    assert [trend_band(r, p) for r, p in ((1, 8), (2, 6), (0, 4), (3, 5), (5, 4), (4, 0))] == [
        "↓ more than 75%", "↓ 50-75%", "↓ 100% (none lately)", "↓ 25-50%", "↑ up to 25%",
        "new"]


def test_pictures_and_labels_are_in_words_and_percentages(app) -> None:
    at = app(threshold=1)
    retention = _table(at, "Cohort (first referral)")
    cells = [v for c in retention.columns if c.startswith("month ") for v in retention[c]]
    assert cells and all(v == "" or re.fullmatch(r"\d+%", v) for v in cells)
    freshness = _table(at, "Last loaded at")
    assert "Intake leads" in set(freshness["Entity"]) and "CRM" in set(freshness["Source"])
    assert not [s for s in _table(at, "Records flagged")["Suite"] if "_" in s]
