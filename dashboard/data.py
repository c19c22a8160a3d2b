"""Reading the operational copy for the dashboard, and the small-number rule for health data.

Every number shown comes from a mart: the app filters rows and adds up additive counts
across them; rates are the ratio of those sums (as docs/metrics.md defines them), never an
average of rates. Counts from 1 to 10 are suppressed ("<11"), and so is any rate built on
one, the usual small-cell rule for health data.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from dashboard import docs_server
from orchestration.serve.publication import DATA_DOCS_LINK, DOCS_LINK, current_database
from orchestration.serve.serving_resource import suppression_threshold

SUPPRESS_BELOW = suppression_threshold()


def serving_dir() -> Path:
    """Return the folder the pipeline publishes to ($RW_SERVING_DIR or data/serving)."""
    return Path(os.environ.get("RW_SERVING_DIR") or "data/serving").absolute()


def serving_database() -> Path:
    """Return the current publication's operational copy (every mart, owner-only).

    Resolved afresh for every query: each publication has its own path, so a new connection
    reads the newest copy even while an older connection in this process is still open.
    """
    return current_database(serving_dir())


def docs_links() -> dict[str, str]:
    """Return the HTTP addresses of the published Data Docs and dbt docs pages."""
    base = docs_server.start(serving_dir())
    return {"Data Docs": f"{base}/{DATA_DOCS_LINK}/index.html",
            "dbt docs": f"{base}/{DOCS_LINK}/index.html"}


def query(sql: str, parameters: list | None = None) -> pd.DataFrame:
    """Run a query on the operational copy, read once per publication and kept.

    A publication never changes once written, and each has its own path, so the answer to
    one query on one path is the same for as long as the dashboard runs: a new publication
    is a new path and is read afresh.
    """
    return _read(str(serving_database()), sql, tuple(parameters or ()))


@st.cache_data(max_entries=512, show_spinner=False)
def _read(database: str, sql: str, parameters: tuple) -> pd.DataFrame:
    with duckdb.connect(database, read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


def is_small(count: float | None) -> bool:
    """Return whether a count falls under the small-cell rule."""
    return count is not None and not pd.isna(count) and 0 < count < SUPPRESS_BELOW


def show_count(count: float | None) -> str:
    """Return a count as text, suppressed when small."""
    if count is None or pd.isna(count):
        return "-"
    return f"<{SUPPRESS_BELOW}" if is_small(count) else f"{count:,.0f}"


def show_rate(numerator: float | None, denominator: float | None) -> str:
    """Return numerator / denominator as a percentage, or '-' when either is small or 0."""
    if not denominator or is_small(numerator) or is_small(denominator):
        return "-"
    return f"{numerator / denominator:.1%}"


def suppress_columns(frame: pd.DataFrame, count_columns: list[str]) -> pd.DataFrame:
    """Return a copy with small counts in the given columns shown as '<11'."""
    shown = frame.copy()
    for column in count_columns:
        shown[column] = [show_count(value) for value in frame[column]]
    return shown


FUNNEL_COUNTS = {"referred_count": "Referred", "scheduled_count": "Scheduled",
                 "attended_count": "Attended", "loop_closed_count": "Loop closed",
                 "leaked_count": "Leaked", "pending_count": "Pending"}
IMMATURE_NOTE = ("Months marked \"open\" still have referrals inside their leakage window "
                 "(30 days after the month ends): their conversion will rise and their "
                 "leakage will change as outcomes arrive (docs/metrics.md, Maturity).")


def show_money(amount: float | None) -> str:
    """Return an amount in USD as money text, '-' when unknown."""
    if amount is None or pd.isna(amount):
        return "-"
    return f"${amount:,.2f}"


def by_month_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Return funnel counts by referral month, in words, with rates and maturity.

    Conversion and leakage are ratios of the month's sums; "open" marks a month whose
    referrals are still inside their leakage window.
    """
    months = rows.groupby(rows["referral_month"].dt.strftime("%Y-%m").fillna("undated"))
    table = months[list(FUNNEL_COUNTS)].sum()
    table["conversion"] = [show_rate(a, r) for a, r in
                           zip(table["attended_count"], table["referred_count"], strict=True)]
    table["leakage"] = [show_rate(a, r) for a, r in
                        zip(table["leaked_count"], table["referred_count"], strict=True)]
    table["window"] = ["closed" if closed else "open: still maturing"
                       for closed in months["is_window_closed"].all()]
    shown = suppress_columns(table.reset_index(), list(FUNNEL_COUNTS))
    return shown.rename(columns={"referral_month": "Month", **FUNNEL_COUNTS,
                                 "conversion": "Conversion", "leakage": "Leakage rate",
                                 "window": "Window"})


def trend_band(recent: float, previous: float) -> str:
    """Return the change from the previous period as an arrow and a band of percentages.

    Bands survive the small-number rule: "<11" against "<11" says nothing, while
    "↓ 50-75%" says how far a referrer fell without showing a count below 11.
    """
    if not previous:
        return "new" if recent else "none in either period"
    change = (recent - previous) / previous
    if recent == 0:
        return "↓ 100% (none lately)"
    for bound, band in ((-0.75, "↓ more than 75%"), (-0.5, "↓ 50-75%"), (-0.25, "↓ 25-50%"),
                        (0.0, "↓ up to 25%"), (0.25, "↑ up to 25%")):
        if change <= bound:
            return band
    return "↑ more than 25%"


def pareto_curve(referrals: pd.DataFrame) -> pd.DataFrame:
    """Return referrers ranked by the referrals given (the 80/20 curve's points).

    Built from referral rows, so the sidebar's filters (months, specialty, location, channel,
    direction) shape it; referrals without a referring clinician have no point on it.
    """
    counts = (referrals.dropna(subset=["referring_practitioner_id"])
              .groupby("referring_practitioner_id").size()
              .sort_values(ascending=False, kind="stable"))
    if counts.empty:
        return pd.DataFrame(columns=["volume_rank_share", "cumulative_referral_share"])
    ranks = pd.Series(range(1, len(counts) + 1), index=counts.index)
    return pd.DataFrame({"volume_rank_share": ranks / len(counts),
                         "cumulative_referral_share": counts.cumsum() / counts.sum()}
                        ).reset_index(drop=True)


def top_fifth_share(referrers: pd.DataFrame) -> float | None:
    """Return the share of referrals sent by the top 20% of referrers (the 80/20 check)."""
    if referrers.empty:
        return None
    top = referrers[referrers["volume_rank_share"] <= 0.2]
    return float(top["cumulative_referral_share"].max()) if not top.empty else None


def retention_shade(rate: float | None) -> str:
    """A cell's colour for a retention share: darker blue for more, readable text on it."""
    if rate is None or pd.isna(rate):
        return ""
    light = round(235 - 170 * float(rate))
    text = "white" if rate > 0.55 else "black"
    return f"background-color: rgb({light}, {light + 10}, 250); color: {text}"


def in_words(code: str) -> str:
    """Return a code or column name as words: "paid_search" becomes "Paid search".

    Only for codes no seed labels; wherever a seed exists, its `*_name` column is used.
    """
    return str(code).replace("_", " ").capitalize()
