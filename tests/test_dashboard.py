"""The dashboard, headless with Streamlit's AppTest, on the hand-made world's serving copy."""

from __future__ import annotations

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


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_every_section_renders_without_errors(app) -> None:
    at = app()
    assert not at.exception and not at.error
    assert [t.label for t in at.tabs] == ["Funnel", "Leakage", "Referrers", "Retention",
                                          "Campaigns", "Data quality"]
    assert len(at.dataframe) >= 7
    assert "small-number rule" in at.caption[0].value


def test_funnel_numbers_equal_the_marts(app, handmade_world: Path) -> None:
    with duckdb.connect(str(handmade_world / "serving" / "referral_marts.duckdb"),
                        read_only=True) as con:
        sums = con.execute("select sum(referred_count), sum(scheduled_count), "
                           "sum(attended_count), sum(loop_closed_count) "
                           "from fct_referral_funnel").fetchone()
    assert sums == (13, 9, 5, 2)  # the hand-made world's funnel, worked out on paper
    assert _metrics(app(threshold=1)) == {"Referred": "13", "Scheduled": "9",
                                          "Attended": "5", "Loop closed": "2",
                                          "Leaked": "6", "Pending": "2"}


def test_immature_months_are_marked(app) -> None:
    months = app(threshold=1).dataframe[0].value
    assert list(months["Month"]) == ["2026-01", "2026-02", "2026-03"]
    assert list(months["Window"]) == ["closed", "open: still maturing",
                                      "open: still maturing"]
    assert list(months["Referred"]) == ["6", "4", "3"]


def test_small_cells_are_suppressed(app) -> None:
    assert _metrics(app()) == {"Referred": "13", "Scheduled": "<11", "Attended": "<11",
                               "Loop closed": "<11", "Leaked": "<11", "Pending": "<11"}
    leakage = app().dataframe[1].value
    assert set(leakage["Referrals"]) == {"<11"}
    assert set(leakage["Estimated lost revenue"]) == {"-"}


def test_filters_change_the_numbers(app) -> None:
    at = app(threshold=1)
    at.select_slider(key="months").set_value((date(2026, 1, 1), date(2026, 1, 1))).run()
    assert _metrics(at) == {"Referred": "6", "Scheduled": "4", "Attended": "2",
                            "Loop closed": "1", "Leaked": "4", "Pending": "0"}
    at.multiselect(key="directions").set_value(["Inbound"]).run()
    assert _metrics(at)["Referred"] == "5"
    at.multiselect(key="directions").set_value([])
    at.select_slider(key="months").set_value((date(2026, 1, 1), date(2026, 3, 1)))
    at.multiselect(key="channels").set_value(["Paid advertising"]).run()
    assert _metrics(at) == {"Referred": "2", "Scheduled": "2", "Attended": "1",
                            "Loop closed": "0", "Leaked": "0", "Pending": "1"}


def test_attribution_model_is_selectable(app) -> None:
    at = app(threshold=1)

    def leads(model: str) -> dict[str, str]:
        at.selectbox(key="attribution_model").set_value(model).run()
        table = next(d.value for d in at.dataframe if "campaign_name" in d.value.columns)
        return dict(zip(table["campaign_name"], table["leads"], strict=True))

    assert leads("first_touch") == {"Cardiology paid search": "2",
                                    "Heart health email": "0",
                                    "Heart health newsletter": "1"}
    assert leads("last_touch") == {"Cardiology paid search": "1",
                                   "Heart health email": "1",
                                   "Heart health newsletter": "1"}
