"""The Four C's scorecard: the page a liaison hands to a practice, on screen and on paper.

It opens on the practice that sends the most referrals. A value under the small-number rule
reads "fewer than 11" in words (a lone "-" would print as an empty bullet), and no statistic
is shown whose base is such a count: a median of fewer than 11 visits says who they were. The
printable copy is one self-contained HTML page with print styles, checked in a real browser
(tests/test_dashboard_browser.py).
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.monday import UNASSIGNED

NOT_YET = "none yet"


def fewer_than() -> str:
    """The words for a suppressed value."""
    return f"fewer than {data.SUPPRESS_BELOW}"


def count_text(count: float | None) -> str:
    """A count in words: 'none yet', 'fewer than 11', or the number."""
    if count is None or pd.isna(count):
        return NOT_YET
    return fewer_than() if data.is_small(count) else f"{count:,.0f}"


def rate_text(numerator: float | None, denominator: float | None, of_what: str) -> str:
    """A share as a percentage, unless its base (``of_what``) or its part is suppressed."""
    if not denominator or pd.isna(denominator):
        return NOT_YET
    if data.is_small(denominator):
        return f"{fewer_than()} {of_what}"
    if data.is_small(numerator):
        return fewer_than()
    return f"{numerator / denominator:.1%}"


def median_text(days: float | None, base: float | None, of_what: str) -> str:
    """A median in days, shown only when its base count is shown."""
    if not base or pd.isna(base) or days is None or pd.isna(days):
        return NOT_YET
    if data.is_small(base):
        return f"{fewer_than()} {of_what}"
    return f"{days:g} days"


def card_table(chosen: pd.DataFrame) -> pd.DataFrame:
    """One practice's quarters, in words."""
    return pd.DataFrame({
        "Quarter": chosen["referral_quarter"].dt.to_period("Q").astype(str)
        + [" (still maturing)" if not closed else "" for closed in chosen["is_window_closed"]],
        "Referrals": [count_text(v) for v in chosen["referred_count"]],
        "Capacity: median days to first visit": [
            median_text(d, n, "visits") for d, n in zip(
                chosen["median_days_to_first_visit"], chosen["attended_count"], strict=True)],
        "Communication: consult notes sent": [rate_text(a, b, "visits") for a, b in zip(
            chosen["loop_closed_count"], chosen["attended_count"], strict=True)],
        "Communication: median days to the note": [
            median_text(d, n, "notes") for d, n in zip(
                chosen["median_days_to_loop_close"], chosen["loop_closed_count"],
                strict=True)],
        "Consistency: seen within target": [rate_text(a, b, "referrals") for a, b in zip(
            chosen["seen_within_target_count"], chosen["target_window_referral_count"],
            strict=True)],
        "Loyalty: stayed with us": [rate_text(a - b, a, "referrals") for a, b in zip(
            chosen["referred_count"], chosen["leaked_count"], strict=True)],
    }).set_index("Quarter")


def printable(practice: str, liaison: str, table: pd.DataFrame, published: str) -> str:
    """The scorecard as one HTML page to print or save as PDF (no scripts, no links)."""
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ["Quarter", *table.columns])
    body = "".join(
        "<tr>" + f"<th>{html.escape(str(quarter))}</th>"
        + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for quarter, row in zip(table.index, table.itertuples(index=False), strict=True))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Scorecard: {html.escape(practice)}</title>
<style>
  @page {{ size: A4 landscape; margin: 15mm; }}
  body {{ font-family: Helvetica, Arial, sans-serif; color: #111; }}
  h1 {{ font-size: 20pt; margin: 0 0 4pt; }}
  p {{ margin: 2pt 0 10pt; color: #444; }}
  table {{ border-collapse: collapse; width: 100%; font-size: 10pt; }}
  th, td {{ border: 1px solid #999; padding: 5pt 6pt; text-align: left; vertical-align: top; }}
  thead th {{ background: #eee; }}
  footer {{ margin-top: 12pt; font-size: 8pt; color: #666; }}
</style></head>
<body>
<h1>The Four C's: what we gave your patients</h1>
<p><strong>{html.escape(practice)}</strong> &middot; Your liaison: {html.escape(liaison)}</p>
<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>
<footer>Capacity, communication, consistency and loyalty, quarter by quarter. Counts from 1
to {data.SUPPRESS_BELOW - 1} read "{fewer_than()}", and no figure is built on them. A quarter
"still maturing" has referrals whose outcome is not final yet. Published {html.escape(published)}.
</footer>
</body></html>
"""


def page() -> None:
    """Choose a practice (the busiest first) and show, print or download its card."""
    cards = data.query("select * from fct_referrer_scorecard order by referral_quarter")
    cards["liaison_name"] = cards["liaison_name"].fillna(UNASSIGNED)
    st.subheader("The Four C's: what we gave your patients")
    if cards.empty:
        st.info("No referring practice has sent a referral yet.")
        return
    volume = (cards.dropna(subset=["practice_name"]).groupby("practice_name")["referred_count"]
              .sum().sort_values(ascending=False, kind="stable"))
    practice = st.selectbox("Practice (the busiest first)", list(volume.index),
                            key="scorecard_practice")
    chosen = cards[cards["practice_name"] == practice]
    liaison = chosen["liaison_name"].iloc[-1]
    st.caption(f"Your liaison: {liaison}.")
    table = card_table(chosen)
    st.table(table)
    published = data.query("select published_at from _publication")["published_at"].iloc[0]
    st.download_button("Download to print (HTML, one page)",
                       printable(practice, liaison, table, f"{published:%Y-%m-%d}")
                       .encode("utf-8"),
                       file_name=f"scorecard-{practice.lower().replace(' ', '-')}.html",
                       mime="text/html", key="scorecard_print")
