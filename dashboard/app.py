"""Referral dashboard for a practice administrator or physician liaison.

Run with `make dashboard`. Reads only the published serving copy (docs/bi.md).
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import monday, scorecard
from dashboard.data import (
    FUNNEL_COUNTS,
    IMMATURE_NOTE,
    SUPPRESS_BELOW,
    by_month_table,
    docs_links,
    in_words,
    is_small,
    pareto_curve,
    query,
    retention_shade,
    serving_database,
    show_count,
    show_money,
    show_rate,
    suppress_columns,
    top_fifth_share,
    trend_band,
)

SOURCE_NAMES = {"ehr": "EHR (FHIR)", "scheduling": "Scheduling (HL7 SIU)", "crm": "CRM",
                "web": "Web analytics (GA4)"}

st.set_page_config(page_title="Referral Warehouse", layout="wide")
st.title("Where our patients come from, and where we lose them")

if not serving_database().exists():
    st.error(f"No serving copy at {serving_database()}: run `make run` first.")
    st.stop()

publication = query("select * from _publication")
st.caption(f"Published {publication['published_at'][0]:%Y-%m-%d %H:%M} UTC from run "
           f"{publication['run_id'][0]}. Counts from 1 to {SUPPRESS_BELOW - 1} are shown as "
           f"<{SUPPRESS_BELOW}, and rates built on them are hidden (small-number rule for "
           "health data).")

funnel = query("select * from fct_referral_funnel")
# Undated referrals (no date in the feed: docs/metrics.md) are in no month.
months = sorted(funnel["referral_month"].dropna().dt.date.unique())
with st.sidebar:
    st.header("Filters")
    if months:
        first, last = st.select_slider("Referral months", options=months,
                                       value=(months[0], months[-1]), key="months")
    specialties = st.multiselect("Specialty", sorted(funnel["specialty_name"].unique()),
                                 key="specialties")
    locations = st.multiselect("Location", sorted(funnel["location_name"].unique()),
                               key="locations")
    channels = st.multiselect("Source channel",
                              sorted(funnel["source_channel_name"].unique()), key="channels")
    directions = st.multiselect("Direction", sorted(funnel["direction_name"].unique()),
                                key="directions",
                                help="Outbound referrals are sent out of the network by our "
                                     "own clinicians: they leak by definition.")


def filtered(frame: pd.DataFrame, month: str = "referral_month") -> pd.DataFrame:
    """Apply the sidebar filters that the frame has columns for."""
    keep = pd.Series(True, index=frame.index)
    if months and month in frame:
        dates = frame[month].dt.date
        in_range = (dates >= first) & (dates <= last)
        # The undated bucket belongs to no month: shown while every month is.
        if (first, last) == (months[0], months[-1]):
            in_range |= frame[month].isna()
        keep &= in_range
    for column, chosen in (("specialty_name", specialties), ("location_name", locations),
                           ("source_channel_name", channels), ("direction_name", directions)):
        if chosen and column in frame:
            keep &= frame[column].isin(chosen)
    return frame[keep]


tabs = st.tabs(["Funnel", "Leakage", "Referrers", "Retention", "Campaigns", "Data quality",
                "Worklist", "Scorecard", "Forecast", "Liaison lift"])

with tabs[0]:
    rows = filtered(funnel)
    totals = rows[list(FUNNEL_COUNTS)].sum()
    columns = st.columns(6)
    for column, (label, key, previous) in zip(columns, (
            ("Referred", "referred_count", None),
            ("Scheduled", "scheduled_count", "referred_count"),
            ("Attended", "attended_count", "scheduled_count"),
            ("Loop closed", "loop_closed_count", "attended_count"),
            ("Leaked", "leaked_count", "referred_count"),
            ("Pending", "pending_count", "referred_count")), strict=True):
        delta = show_rate(totals[key], totals[previous]) if previous else None
        base = "referred" if key in ("leaked_count", "pending_count") else "previous stage"
        column.metric(label, show_count(totals[key]),
                      delta=f"{delta} of {base}" if delta and delta != "-" else None,
                      delta_color="off", delta_arrow="off")
    stages = pd.DataFrame({"stage": ["1 referred", "2 scheduled", "3 attended",
                                     "4 loop closed"],
                           "referrals": [totals["referred_count"], totals["scheduled_count"],
                                         totals["attended_count"],
                                         totals["loop_closed_count"]]})
    stages = stages[[not pd.isna(v) and (v == 0 or v >= SUPPRESS_BELOW)
                     for v in stages["referrals"]]]
    st.altair_chart(alt.Chart(stages).mark_bar().encode(x="stage:N", y="referrals:Q"),
                    use_container_width=True)
    st.subheader("By month")
    st.dataframe(by_month_table(rows), hide_index=True)
    st.caption(IMMATURE_NOTE)

with tabs[1]:
    leakage = filtered(query("select * from fct_referral_leakage"))
    by_reason = (leakage.groupby("leakage_reason_name")
                 .agg(referrals=("referral_id", "count"),
                      lost_revenue=("estimated_lost_revenue_amount", "sum"))
                 .reset_index().sort_values("referrals", ascending=False))
    by_reason["lost_revenue"] = [
        "-" if is_small(count) else show_money(value) for value, count in
        zip(by_reason["lost_revenue"], by_reason["referrals"], strict=True)]
    st.subheader("Leakage by reason")
    shown_reasons = by_reason[[not is_small(n) for n in by_reason["referrals"]]]
    st.altair_chart(alt.Chart(shown_reasons).mark_bar().encode(
        x=alt.X("referrals:Q", title="leaked referrals"),
        y=alt.Y("leakage_reason_name:N", title=None, sort="-x",
                axis=alt.Axis(labelLimit=320))), use_container_width=True)
    if len(shown_reasons) < len(by_reason):
        st.caption(f"Reasons with fewer than {SUPPRESS_BELOW} referrals are in the table only.")
    st.dataframe(suppress_columns(by_reason, ["referrals"]).rename(columns={
        "leakage_reason_name": "Reason", "referrals": "Referrals",
        "lost_revenue": "Estimated lost revenue"}), hide_index=True)
    providers = query("select referring_practitioner_id, given_name, family_name, "
                      "practice_name, liaison_name from dim_referring_providers")
    by_referrer = (leakage.groupby("referring_practitioner_id")
                   .agg(leaked=("referral_id", "count")).reset_index()
                   .merge(providers, how="left", on="referring_practitioner_id")
                   .sort_values("leaked", ascending=False).head(20))
    by_referrer["liaison_name"] = by_referrer["liaison_name"].fillna(monday.UNASSIGNED)
    by_referrer["given_name"] = by_referrer["given_name"].fillna("No referring clinician")
    st.subheader("Leakage by referrer")
    st.dataframe(suppress_columns(by_referrer, ["leaked"]).drop(
        columns="referring_practitioner_id").rename(columns={
            "leaked": "Leaked referrals", "given_name": "Given name",
            "family_name": "Family name", "practice_name": "Practice",
            "liaison_name": "Liaison"}), hide_index=True)

with tabs[2]:
    referrers = query("select * from dim_referring_providers order by volume_rank")
    st.subheader("The 80/20 curve")
    points = pareto_curve(filtered(query(
        "select referral_month, specialty_name, location_name, source_channel_name, "
        "direction_name, referring_practitioner_id from fct_referrals")))
    curve = alt.Chart(points).mark_line().encode(
        x=alt.X("volume_rank_share:Q", title="share of referrers, by volume",
                axis=alt.Axis(format="%")),
        y=alt.Y("cumulative_referral_share:Q", title="share of referrals",
                axis=alt.Axis(format="%")))
    marker = alt.Chart(pd.DataFrame({"x": [0.2]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q")
    st.altair_chart(curve + marker, use_container_width=True)
    top_fifth = top_fifth_share(points)
    if top_fifth is not None:
        st.caption(f"The top 20% of referrers (dashed line) sent {top_fifth:.0%} of the "
                   "referrals the sidebar's filters select.")
    st.caption("The curve follows the sidebar's filters; the lists below are of every "
               "referral: the filters do not apply to them.")
    monday.nobody_owns(referrers)
    st.subheader("At risk: declining and dormant referrers")
    referrers["last_referral_date"] = referrers["last_referral_date"].dt.date
    referrers["liaison_name"] = referrers["liaison_name"].fillna(monday.UNASSIGNED)
    at_risk = referrers[referrers["is_at_risk"]].copy()
    at_risk["segment"] = at_risk["segment"].map(in_words)
    at_risk["trend"] = [trend_band(r, p) for r, p in zip(
        at_risk["recent_period_referral_count"], at_risk["previous_period_referral_count"],
        strict=True)]
    at_risk = suppress_columns(at_risk, ["recent_period_referral_count",
                                         "previous_period_referral_count",
                                         "lifetime_referral_count"])
    st.dataframe(at_risk[[
        "given_name", "family_name", "practice_name", "liaison_name", "segment", "trend",
        "last_referral_date", "recent_period_referral_count",
        "previous_period_referral_count", "lifetime_referral_count"]].rename(columns={
            "given_name": "Given name", "family_name": "Family name",
            "practice_name": "Practice", "liaison_name": "Liaison", "segment": "Segment",
            "trend": "Trend (last 90 days vs the 90 before)",
            "last_referral_date": "Last referral",
            "recent_period_referral_count": "Last 90 days",
            "previous_period_referral_count": "The 90 before",
            "lifetime_referral_count": "All time"}), hide_index=True)

with tabs[3]:
    retention = query("select * from fct_referrer_retention")
    st.subheader("Referrer retention by cohort")
    retention["cohort"] = retention["cohort_month"].dt.strftime("%Y-%m")
    shown = retention[retention["cohort_size"] >= SUPPRESS_BELOW]
    grid = shown.pivot_table(index=["cohort", "cohort_size"],
                             columns="months_since_first_referral", values="retention_rate")
    grid.columns = [f"month {m}" for m in grid.columns]
    grid = grid.reset_index().rename(columns={"cohort": "Cohort (first referral)",
                                              "cohort_size": "Referrers"})
    rate_columns = [c for c in grid.columns if c.startswith("month ")]
    # Text in the cells (a month not reached yet is blank), colour from the numbers.
    text = grid.assign(**{c: ["" if pd.isna(v) else f"{v:.0%}" for v in grid[c]]
                          for c in rate_columns})
    st.dataframe(text.style.apply(lambda column: [retention_shade(v) for v in
                                                  grid[column.name]], subset=rate_columns),
                 hide_index=True)
    st.caption("Each cell: the share of the cohort's referrers who sent a referral that month.")
    if len(shown) < len(retention):
        st.caption(f"Cohorts of fewer than {SUPPRESS_BELOW} referrers are not shown.")

with tabs[4]:
    campaigns = query("select * from fct_campaign_performance")
    model = st.selectbox("Attribution model", sorted(campaigns["attribution_model"].unique()),
                         format_func=in_words, key="attribution_model")
    chosen = filtered(campaigns[campaigns["attribution_model"] == model],
                      month="performance_month")
    summary = chosen.groupby(["campaign_name", "channel"]).agg(
        spend=("spend_amount", "sum"), sessions=("session_count", "sum"),
        leads=("attributed_lead_count", "sum"), referrals=("attributed_referral_count", "sum"),
        attended=("attributed_attended_count", "sum"),
        revenue=("attributed_revenue_amount", "sum")).reset_index()
    summary["roi_value"] = [(r - s) / s if s else None for r, s in
                            zip(summary["revenue"], summary["spend"], strict=True)]
    summary["roi"] = [f"{v:.0%}" if v is not None else "-" for v in summary["roi_value"]]
    summary["channel"] = summary["channel"].map(in_words)
    summary["spend"] = [show_money(v) for v in summary["spend"]]
    summary["revenue"] = [show_money(v) for v in summary["revenue"]]
    st.subheader(f"Campaign performance ({in_words(model).lower()})")
    with_roi = summary.dropna(subset=["roi_value"])
    st.altair_chart(alt.Chart(with_roi).mark_bar().encode(
        x=alt.X("roi_value:Q", title="return on spend", axis=alt.Axis(format="%")),
        y=alt.Y("campaign_name:N", title=None, sort="-x", axis=alt.Axis(labelLimit=320)),
        color=alt.Color("channel:N", title="channel")), use_container_width=True)
    st.dataframe(suppress_columns(summary.drop(columns="roi_value"),
                                  ["sessions", "leads", "referrals", "attended"])
                 .rename(columns={"campaign_name": "Campaign", "channel": "Channel",
                                  "spend": "Spend", "sessions": "Sessions", "leads": "Leads",
                                  "referrals": "Referrals", "attended": "New patients",
                                  "revenue": "Attributed revenue", "roi": "ROI"}),
                 hide_index=True)

with tabs[5]:
    st.subheader("Latest data-quality results")
    try:
        results = query("select suite, rule, severity, success, unexpected_count, checked_at "
                        "from quality_rule_results order by success, severity, suite")
        results["success"] = results["success"].map({True: "passed", False: "failed"})
        results["suite"] = results["suite"].map(in_words)
        results["rule"] = results["rule"].map(in_words)
        st.dataframe(results.rename(columns={
            "suite": "Suite", "rule": "Rule", "severity": "Severity", "success": "Result",
            "unexpected_count": "Records flagged", "checked_at": "Checked at"}),
            hide_index=True)
    except Exception:  # the serving copy predates data-quality results
        st.info("No data-quality results were published with this copy.")
    links = docs_links()
    st.markdown(f"[Open the Data Docs]({links['Data Docs']}) (every suite and rule: "
                f"docs/quality.md) · [Open the dbt docs]({links['dbt docs']}) (every model "
                "and column)")
    st.subheader("Freshness")
    freshness = query("select * from source_freshness order by source, entity")
    freshness["entity"] = [in_words(e.removeprefix(f"{s}_")) for s, e in
                           zip(freshness["source"], freshness["entity"], strict=True)]
    freshness["source"] = freshness["source"].map(SOURCE_NAMES).fillna(freshness["source"])
    st.dataframe(freshness.rename(columns=in_words), hide_index=True)

with tabs[6]:
    monday.worklist(filtered)

with tabs[7]:
    scorecard.page()

with tabs[8]:
    monday.forecast()

with tabs[9]:
    monday.lift()
