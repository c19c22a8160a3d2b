"""What the BI copy publishes: aggregates of the marts, month grain or coarser, suppressed.

The BI copy is what a BI tool's group may read (docs/bi.md, docs/privacy.md). It holds no
row per referral, no referral id or number and no timestamp finer than a month: each table
here is one mart summed to the cells named by its keys. Every count is protected by
small-cell suppression in the data (orchestration/serve/suppression.py); amounts that are a
count times a price go with their count, and rates are recomputed from the published counts
only, so no rate reveals a suppressed one.

This is the one list of what the BI copy holds: the publication builds it, the tests check
it, docs/bi.md describes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BiTable:
    """One aggregate of one mart, and how its counts are protected.

    ``keys``: the cell, published name -> SQL over the mart (month, quarter or coarser).
    ``attributes``: descriptive columns that depend on the keys (carried as they are).
    ``counts``: additive counts, summed per cell; each is suppressed from 1 to the threshold.
    ``base``: the count a row stands on (its denominator): when it is suppressed, so is every
    other count of the row. ``partitions``: a total and the parts it is the sum of, so a
    total minus the other parts cannot give a suppressed part. ``amounts``: sums that reveal
    a count (lost revenue = leaked x price), nulled with it. ``flags``: booleans true only
    when true for every row of the cell. ``rates``: name -> (numerator, denominator), SQL-ish
    arithmetic over published counts and amounts, null when any of them is suppressed.
    ``plain``: sums that are not counts of people or events (money spent), published as they are.
    """

    name: str
    mart: str
    description: str
    keys: dict[str, str]
    counts: tuple[str, ...]
    base: str | None = None
    attributes: tuple[str, ...] = ()
    partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    amounts: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    rates: dict[str, tuple[str, str]] = field(default_factory=dict)
    plain: tuple[str, ...] = ()

    def rate_inputs(self, rate: str) -> set[str]:
        """Return the columns a rate reads."""
        numerator, denominator = self.rates[rate]
        return set(re.findall(r"[a-z_][a-z0-9_]*", f"{numerator} {denominator}"))


FUNNEL_COUNTS = ("referred_count", "scheduled_count", "attended_count", "loop_closed_count",
                 "leaked_count", "pending_count")
FUNNEL_RATES = {"scheduling_rate": ("scheduled_count", "referred_count"),
                "attendance_rate": ("attended_count", "scheduled_count"),
                "loop_closure_rate": ("loop_closed_count", "attended_count"),
                "referral_conversion_rate": ("attended_count", "referred_count"),
                "leakage_rate": ("leaked_count", "referred_count")}
LEAKAGE_REASON_COUNTS = (
    "outbound_out_of_network_count", "rejected_by_receiver_count", "referral_revoked_count",
    "never_scheduled_count", "cancelled_not_rebooked_count", "no_show_not_rebooked_count",
    "booked_slot_passed_count")



def _funnel(name: str, dimension: str, description: str) -> BiTable:
    """The referral funnel per month and one dimension (more would hide most cells)."""
    return BiTable(name, "fct_referral_funnel", description,
                   keys={"referral_month": "referral_month", dimension: dimension},
                   counts=FUNNEL_COUNTS, base="referred_count", flags=("is_window_closed",),
                   rates=FUNNEL_RATES)


BI_TABLES: tuple[BiTable, ...] = (
    _funnel("referral_funnel_monthly", "specialty_name",
            "The referral funnel per month and specialty, every direction."),
    _funnel("referral_funnel_by_direction", "direction_name",
            "The referral funnel per month and direction (inbound, internal, outbound)."),
    BiTable(
        "referral_leakage_monthly", "fct_referral_leakage_summary",
        "Leakage per month: every referral, the leaked ones by reason, the revenue lost.",
        keys={"referral_month": "referral_month"},
        counts=("referred_count", "leaked_count", "pending_count", *LEAKAGE_REASON_COUNTS),
        base="referred_count", flags=("is_window_closed",),
        partitions=(("leaked_count", LEAKAGE_REASON_COUNTS),),
        amounts={"estimated_lost_revenue_amount": "leaked_count"},
        rates={"leakage_rate": ("leaked_count", "referred_count")}),
    BiTable(
        "referral_funnel_as_of", "fct_referral_funnel_as_of",
        "The funnel as it stood at each month's start and now, per referral month.",
        keys={"as_of_month": "cast(date_trunc('month', as_of_at) as date)",
              "is_current": "is_current", "referral_month": "referral_month"},
        counts=("referred_count", "scheduled_count", "attended_count", "loop_closed_count",
                "revoked_count"),
        base="referred_count"),
    BiTable(
        "referrer_scorecard_quarterly", "fct_referrer_scorecard",
        "The Four C's per referring practice and quarter.",
        keys={"practice_name": "practice_name", "liaison_name": "liaison_name",
              "referral_quarter": "referral_quarter"},
        counts=("referred_count", "attended_count", "loop_closed_count", "leaked_count",
                "target_window_referral_count", "seen_within_target_count"),
        base="referred_count", flags=("is_window_closed",),
        rates={"loop_closure_rate": ("loop_closed_count", "attended_count"),
               "seen_within_target_rate": ("seen_within_target_count",
                                           "target_window_referral_count"),
               "stayed_in_network_rate": ("referred_count - leaked_count", "referred_count")}),
    BiTable(
        "referrer_retention", "fct_referrer_retention",
        "Referrers still referring, per cohort (month of first referral) and month since.",
        keys={"cohort_month": "cohort_month",
              "months_since_first_referral": "months_since_first_referral",
              "activity_month": "activity_month"},
        counts=("cohort_size", "active_referrer_count", "referral_count"),
        base="cohort_size",
        rates={"retention_rate": ("active_referrer_count", "cohort_size")}),
    BiTable(
        "campaign_performance_monthly", "fct_campaign_performance",
        "Campaigns per month under each attribution model: spend, sessions and outcomes.",
        keys={"campaign_name": "campaign_name", "channel": "channel",
              "performance_month": "performance_month",
              "attribution_model": "attribution_model"},
        counts=("click_count", "session_count", "attributed_lead_count",
                "attributed_referral_count", "attributed_attended_count"),
        attributes=("utm_campaign",), plain=("spend_amount",),
        amounts={"attributed_revenue_amount": "attributed_attended_count"},
        rates={"cost_per_lead_amount": ("spend_amount", "attributed_lead_count"),
               "cost_per_referral_amount": ("spend_amount", "attributed_referral_count"),
               "cost_per_attended_patient_amount": ("spend_amount",
                                                    "attributed_attended_count"),
               "roi": ("attributed_revenue_amount - spend_amount", "spend_amount")}),
    BiTable(
        "referring_providers", "dim_referring_providers",
        "The referring providers directory with their referral volume and segment.",
        keys={"referring_practitioner_id": "referring_practitioner_id"},
        attributes=("referring_provider_npi", "given_name", "family_name", "practice_name",
                    "specialty_name",
                    "is_in_network", "liaison_name", "segment", "is_at_risk"),
        counts=("lifetime_referral_count", "trailing_12_month_referral_count",
                "recent_period_referral_count", "previous_period_referral_count"),
        base="lifetime_referral_count"),
)
