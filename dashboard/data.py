"""Reading the serving copy for the dashboard, and the small-number rule for health data.

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

from orchestration.serving import DATA_DOCS_LINK, current_database

SUPPRESS_BELOW = int(os.environ.get("RW_SUPPRESS_BELOW", "11"))


def serving_dir() -> Path:
    """Return the folder the pipeline publishes to ($RW_SERVING_DIR or data/serving)."""
    return Path(os.environ.get("RW_SERVING_DIR") or "data/serving").absolute()


def serving_database() -> Path:
    """Return the current publication's own DuckDB file.

    Resolved afresh for every query: each publication has its own path, so a new connection
    reads the newest copy even while an older connection in this process is still open.
    """
    return current_database(serving_dir())


def quality_docs() -> Path:
    """Return the Data Docs index page published with the current copy."""
    return serving_dir() / DATA_DOCS_LINK / "index.html"


def query(sql: str, parameters: list | None = None) -> pd.DataFrame:
    """Run a query on a fresh read-only connection to the serving copy."""
    with duckdb.connect(str(serving_database()), read_only=True) as con:
        return con.execute(sql, parameters or []).df()


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
    months = rows.groupby(rows["referral_month"].dt.strftime("%Y-%m"))
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
