"""The Monday-morning pages: the coordinator's worklist and the liaison's pages.

The liaison's are the scorecard, the forecast and the activity lift. Each reads one mart and
shows it in words: labels from the seeds, counts under the small-number rule, an unassigned
liaison as "Unassigned".
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.data import query, show_count, show_rate

UNASSIGNED = "Unassigned"


def _liaisons(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["liaison_name"] = frame["liaison_name"].fillna(UNASSIGNED)
    return frame


def _days(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:g} days"


def _share(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.0%}"


def worklist() -> None:
    """Open referrals needing action: filter by liaison and reason, download as CSV."""
    rows = _liaisons(query("select * from fct_referral_worklist "
                           "order by business_days_waiting desc, referral_number"))
    st.subheader("Referrals to act on today")
    left, right = st.columns(2)
    liaisons = left.multiselect("Liaison", sorted(rows["liaison_name"].unique()),
                                key="worklist_liaisons")
    reasons = right.multiselect("Reason", sorted(rows["worklist_reason_name"].unique()),
                                key="worklist_reasons")
    if liaisons:
        rows = rows[rows["liaison_name"].isin(liaisons)]
    if reasons:
        rows = rows[rows["worklist_reason_name"].isin(reasons)]
    referrer = (rows["referrer_given_name"].fillna("") + " "
                + rows["referrer_family_name"].fillna("")).str.strip()
    table = pd.DataFrame({
        "Referral": rows["referral_number"],
        "Reason": rows["worklist_reason_name"],
        "What to do": rows["action"],
        "Waiting since": rows["waiting_since_at"].dt.strftime("%Y-%m-%d"),
        "Business days waiting": rows["business_days_waiting"],
        "Specialty": rows["specialty_name"],
        "Referrer": referrer.replace("", "No referring clinician"),
        "Practice": rows["practice_name"].fillna("-"),
        "Liaison": rows["liaison_name"],
        "Already leaked": rows["is_leaked"].map({True: "yes", False: "no"}),
    })
    st.caption(f"{len(table)} referrals. Business days leave out weekends and the holidays "
               "in seeds/holidays.csv (docs/metrics.md, Worklist).")
    st.dataframe(table, hide_index=True)
    st.download_button("Download as CSV", table.to_csv(index=False).encode("utf-8"),
                       file_name="referral_worklist.csv", mime="text/csv",
                       key="worklist_csv")


def scorecard() -> None:
    """The Four C's of one practice, quarter by quarter: the page a liaison prints."""
    cards = _liaisons(query("select * from fct_referrer_scorecard "
                            "order by practice_name, referral_quarter"))
    st.subheader("The Four C's: what we gave your patients")
    if cards.empty:
        st.info("No referring practice has sent a referral yet.")
        return
    practice = st.selectbox("Practice", sorted(cards["practice_name"].dropna().unique()),
                            key="scorecard_practice")
    chosen = cards[cards["practice_name"] == practice]
    st.caption(f"Liaison: {chosen['liaison_name'].iloc[-1]}. Print this page from the "
               "browser to leave it with the practice.")
    table = pd.DataFrame({
        "Quarter": chosen["referral_quarter"].dt.to_period("Q").astype(str)
        + [" (still maturing)" if not closed else "" for closed in chosen["is_window_closed"]],
        "Referrals": [show_count(v) for v in chosen["referred_count"]],
        "Capacity: median days to first visit": [_days(v) for v in
                                                 chosen["median_days_to_first_visit"]],
        "Communication: consult notes sent": [show_rate(a, b) for a, b in zip(
            chosen["loop_closed_count"], chosen["attended_count"], strict=True)],
        "Communication: median days to the note": [_days(v) for v in
                                                   chosen["median_days_to_loop_close"]],
        "Consistency: seen within target": [show_rate(a, b) for a, b in zip(
            chosen["seen_within_target_count"], chosen["target_window_referral_count"],
            strict=True)],
        "Loyalty: stayed with us": [show_rate(a - b, a) for a, b in zip(
            chosen["referred_count"], chosen["leaked_count"], strict=True)],
    })
    st.table(table.set_index("Quarter"))


def forecast() -> None:
    """Expected referrals per referrer, and who is slipping below their forecast."""
    rows = query("""select f.*, p.given_name, p.family_name, p.practice_name, p.liaison_name
                    from fct_referrer_forecast f
                    left join dim_referring_providers p using (referring_practitioner_id)
                    order by f.expected_count desc""")
    rows = _liaisons(rows)
    st.subheader("Referrals expected in the next 90 days")
    slipping = rows[rows["is_slipping"].fillna(False).astype(bool)]
    st.markdown(f"**Slipping below their forecast:** {show_count(len(slipping))}")
    table = pd.DataFrame({
        "Referrer": (rows["given_name"].fillna("") + " " + rows["family_name"].fillna(""))
        .str.strip(),
        "Practice": rows["practice_name"].fillna("-"),
        "Liaison": rows["liaison_name"],
        "Expected": [f"{v:.1f}" for v in rows["expected_count"]],
        "95% range": [f"{lo:.0f} to {hi:.0f}" for lo, hi in
                      zip(rows["lower_count"], rows["upper_count"], strict=True)],
        "Last 90 days": [show_count(v) for v in rows["recent_referral_count"]],
        "Trend": ["not enough history" if pd.isna(s) else "slipping ↓" if s else "as expected"
                  for s in rows["is_slipping"]],
    })
    st.dataframe(table, hide_index=True)
    st.caption("A referrer is slipping when the last 90 days fell below the range forecast "
               "90 days ago (docs/metrics.md, Forecast).")


def lift() -> None:
    """Did outreach pay? Referral change after activities, against unvisited practices."""
    rows = _liaisons(query("select * from fct_liaison_activity_lift "
                           "order by activity_type_name, liaison_name"))
    st.subheader("Liaison activity lift (difference in differences)")
    table = pd.DataFrame({
        "Activity": rows["activity_type_name"],
        "Liaison": rows["liaison_name"],
        "Activities": rows["activity_count"],
        "Referrals before": rows["referrals_before_count"],
        "Referrals after": rows["referrals_after_count"],
        "Change per activity": [f"{v:+.1f}" for v in rows["visited_change_per_activity"]],
        "Unvisited practices' change": ["-" if pd.isna(v) else f"{v:+.1f}"
                                        for v in rows["comparison_change_per_practice"]],
        "Lift per activity": ["-" if pd.isna(v) else f"{v:+.1f}"
                              for v in rows["lift_per_activity"]],
        "Reliability": ["small sample" if small else "ok" for small in
                        rows["is_small_sample"]],
        "Window": [f"{d} days" + ("" if complete else " (cut short)") for d, complete in
                   zip(rows["shortest_window_days"], rows["is_window_complete"],
                       strict=True)],
    })
    st.dataframe(table, hide_index=True)
    st.caption("Referrals in the 90 days after each visit minus the 90 before, against the "
               "same change at practices nobody visited; liaisons choose whom to visit, so "
               "read a lift as a lead, not proof (docs/metrics.md).")
