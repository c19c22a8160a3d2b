"""The Monday-morning pages: the coordinator's worklist and the liaison's pages.

The liaison's are the forecast and the activity lift (the scorecard has a module of its own,
dashboard/scorecard.py). Each reads one mart and
shows it in words: labels from the seeds, counts under the small-number rule, an unassigned
liaison as "Unassigned".
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard.data import query, show_count

UNASSIGNED = "Unassigned"
RELIABILITY = {"insufficient_data": "insufficient data: the window was cut short",
               "small_sample": "small sample: an anecdote", "ok": "ok"}
# The sidebar filters whose columns the worklist has (app.filtered applies what a frame has).
WORKLIST_FILTERS = ("specialty", "location", "source channel")


def _liaisons(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["liaison_name"] = frame["liaison_name"].fillna(UNASSIGNED)
    return frame


def _days(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:g} days"


def _share(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.0%}"


def _due_status(days_until_due: int) -> str:
    if days_until_due < 0:
        return f"overdue {-days_until_due} business day{'s' if days_until_due < -1 else ''}"
    if days_until_due == 0:
        return "due today"
    return f"due in {days_until_due} business day{'s' if days_until_due > 1 else ''}"


def _ownership(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Items and overdue items per value of ``key``, largest first."""
    counts = rows.groupby(key).agg(items=("referral_id", "count"),
                                   overdue=("is_overdue", "sum")).reset_index()
    return counts.sort_values(["items", key], ascending=[False, True])


def worklist(apply_filters: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    """What is due and overdue, by whom: the coordinator's Monday list, sorted by due date.

    Counts here are of the rows listed below them (the list names each referral to the
    coordinator who must act on it), so they are shown as they are, not suppressed.
    """
    rows = _liaisons(query("select * from fct_referral_worklist order by due_date, "
                           "business_days_waiting desc, referral_number"))
    as_of = query("select max(as_of_date) as as_of_date from fct_referral_worklist")
    day = as_of["as_of_date"].iloc[0]
    st.subheader("Referrals to act on" + (f", as of {pd.Timestamp(day):%A %d %B %Y}"
                                          if not pd.isna(day) else ""))
    rows = apply_filters(rows)
    st.caption(f"Sidebar filters applied here: {', '.join(WORKLIST_FILTERS)}. Not applied: "
               "referral months (the list is as of the date above) and direction (referrals "
               "sent out of the network are never on it).")
    if rows.empty:
        st.info("Nothing to act on.")
        return
    unowned = rows["liaison_name"].eq(UNASSIGNED)
    columns = st.columns(4)
    columns[0].metric("On the list", f"{len(rows):,}")
    columns[1].metric("Overdue", f"{int(rows['is_overdue'].sum()):,}")
    columns[2].metric("Due by the next business day",
                      f"{int(rows['business_days_until_due'].between(0, 1).sum()):,}")
    columns[3].metric("Nobody owns", f"{unowned.mean():.0%}",
                      help="Items whose referrer has no liaison in the CRM.")
    by_reason, by_owner = st.columns(2)
    by_reason.dataframe(_ownership(rows, "worklist_reason_name").rename(columns={
        "worklist_reason_name": "Reason", "items": "Items", "overdue": "Overdue"}),
        hide_index=True)
    by_owner.dataframe(_ownership(rows, "liaison_name").rename(columns={
        "liaison_name": "Owner (liaison)", "items": "Items", "overdue": "Overdue"}),
        hide_index=True)
    left, middle, right = st.columns([2, 2, 1])
    liaisons = left.multiselect("Liaison", sorted(rows["liaison_name"].unique()),
                                key="worklist_liaisons")
    reasons = middle.multiselect("Reason", sorted(rows["worklist_reason_name"].unique()),
                                 key="worklist_reasons")
    if right.toggle("Overdue only", key="worklist_overdue"):
        rows = rows[rows["is_overdue"]]
    if liaisons:
        rows = rows[rows["liaison_name"].isin(liaisons)]
    if reasons:
        rows = rows[rows["worklist_reason_name"].isin(reasons)]
    referrer = (rows["referrer_given_name"].fillna("") + " "
                + rows["referrer_family_name"].fillna("")).str.strip()
    table = pd.DataFrame({
        "Due": pd.to_datetime(rows["due_date"]).dt.strftime("%a %d %b"),
        "Status": [_due_status(int(d)) for d in rows["business_days_until_due"]],
        "Referral": rows["referral_number"],
        "What to do": rows["action"],
        "Referrer": referrer.replace("", "No referring clinician"),
        "Practice": rows["practice_name"].fillna("-"),
        "Liaison": rows["liaison_name"],
        "Reason": rows["worklist_reason_name"],
        "Specialty": rows["specialty_name"],
        "Waiting since": rows["waiting_since_at"].dt.strftime("%Y-%m-%d"),
        "Business days waiting": rows["business_days_waiting"],
        "Already leaked": rows["is_leaked"].map({True: "yes", False: "no"}),
    })
    st.caption(f"{len(table)} referrals, the earliest due first. Due dates count business "
               "days (weekends and the holidays in seeds/holidays.csv left out) from the "
               "service levels in seeds/worklist_reasons.csv (docs/metrics.md, Worklist).")
    st.dataframe(table, hide_index=True, column_config={
        "Due": st.column_config.TextColumn(width="small"),
        "What to do": st.column_config.TextColumn(width="medium")})
    st.download_button("Download as CSV", table.to_csv(index=False).encode("utf-8"),
                       file_name="referral_worklist.csv", mime="text/csv",
                       key="worklist_csv")


def nobody_owns(referrers: pd.DataFrame) -> None:
    """Referrers and practices no liaison owns, the largest first: whom to assign."""
    unowned = referrers[referrers["liaison_name"].isna()]
    practices = (unowned.assign(practice=unowned["practice_name"].fillna("No practice"))
                 .groupby("practice").agg(referrers=("referring_practitioner_id", "count"),
                                          referrals=("lifetime_referral_count", "sum"))
                 .reset_index().sort_values(["referrals", "practice"],
                                            ascending=[False, True]))
    total = referrers["lifetime_referral_count"].sum()
    share = unowned["lifetime_referral_count"].sum() / total if total else 0.0
    st.subheader("Nobody owns these")
    # Referrers and practices are counted as they are: they are clinicians and offices, not
    # patients. Their referral counts follow the small-number rule.
    st.markdown(f"**{len(unowned):,} of {len(referrers):,} referrers** in **{len(practices):,} "
                f"practices** have no liaison; they sent **{share:.0%}** of all referrals.")
    st.dataframe(practices.assign(referrals=[show_count(v) for v in practices["referrals"]])
                 .rename(columns={"practice": "Practice", "referrers": "Referrers",
                                  "referrals": "Referrals (all time)"}), hide_index=True)
    top = unowned.sort_values(["lifetime_referral_count", "family_name"],
                              ascending=[False, True]).head(20)
    st.dataframe(pd.DataFrame({
        "Referrer": (top["given_name"].fillna("") + " " + top["family_name"].fillna(""))
        .str.strip(),
        "Practice": top["practice_name"].fillna("-"),
        "Referrals (all time)": [show_count(v) for v in top["lifetime_referral_count"]],
        "Last referral": pd.to_datetime(top["last_referral_date"]).dt.strftime("%Y-%m-%d"),
    }), hide_index=True)


def forecast() -> None:
    """Expected referrals per referrer, and who is slipping below their forecast."""
    rows = query("""select f.*, p.given_name, p.family_name, p.practice_name, p.liaison_name
                    from fct_referrer_forecast f
                    left join dim_referring_providers p using (referring_practitioner_id)
                    order by f.is_slipping desc nulls last, f.expected_count desc,
                             p.family_name""")
    rows = _liaisons(rows)
    st.subheader("Referrals expected in the next 90 days")
    slipping = rows[rows["is_slipping"].fillna(False).astype(bool)]
    # A count of referrers (clinicians), not of patients: never suppressed.
    st.markdown(f"**Slipping below their forecast:** {len(slipping):,} of {len(rows):,} "
                "referrers, listed first.")
    table = pd.DataFrame({
        "Referrer": (rows["given_name"].fillna("") + " " + rows["family_name"].fillna(""))
        .str.strip(),
        "Practice": rows["practice_name"].fillna("-"),
        "Liaison": rows["liaison_name"],
        "Expected": [f"{v:.1f}" for v in rows["expected_count"]],
        "95% range": [f"{lo:.0f} to {hi:.0f}" for lo, hi in
                      zip(rows["lower_count"], rows["upper_count"], strict=True)],
        "Last 90 days": [show_count(v) for v in rows["recent_referral_count"]],
        "Trend": [_trend(slipping, changed) for slipping, changed in
                  zip(rows["is_slipping"], rows["is_rate_changed"], strict=True)],
    })
    st.dataframe(table, hide_index=True)
    st.caption("A referrer is slipping when the last 90 days fell below the range forecast "
               "90 days ago. A changed pace (stopped, started, sped up or slowed) makes the "
               "forecast follow the last 90 days (docs/metrics.md, Forecast).")


def _trend(slipping: object, changed: bool) -> str:
    """The forecast's verdict in words: slipping first, then a changed pace."""
    if not pd.isna(slipping) and slipping:
        return "slipping ↓"
    if not pd.isna(changed) and changed:
        return "pace changed"
    return "not enough history" if pd.isna(slipping) else "as expected"


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
        "Lift per activity": ["insufficient data" if verdict == "insufficient_data"
                              else "-" if pd.isna(v) else f"{v:+.1f}"
                              for v, verdict in zip(rows["lift_per_activity"],
                                                    rows["reliability"], strict=True)],
        "Reliability": [RELIABILITY[verdict] for verdict in rows["reliability"]],
        "Window": [f"{d} days" + ("" if complete else " (cut short)") for d, complete in
                   zip(rows["shortest_window_days"], rows["is_window_complete"],
                       strict=True)],
    })
    st.dataframe(table, hide_index=True)
    st.caption("Referrals in the 90 days after each visit minus the 90 before, against the "
               "same change at practices nobody visited; liaisons choose whom to visit, so "
               "read a lift as a lead, not proof (docs/metrics.md).")
