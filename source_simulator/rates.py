"""The rates that shape the simulated world, each with where the figure comes from.

Every behavioural number the simulator uses lives here, so `docs/generator.md` can list them
and a reader can challenge one without reading the simulation loop.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorldRates:
    """Behavioural rates of the simulated referral world (per scale unit where noted)."""

    # Volume, per scale unit. A "scale unit" is a small specialty network: 5 specialties,
    # about 150 referring providers, about 3,000 referrals a year.
    community_referrals_per_weekday: float = 8.0
    network_pcp_referrals_per_weekday: float = 4.0
    phone_leads_per_weekday: float = 1.2
    organic_visitors_per_day: float = 12.0
    # The 80/20 rule: the top 20% of referrers send 80% of referrals. Referrer volumes
    # follow a Zipf curve whose exponent is solved so that this holds for the network's
    # referrer count exactly (random Pareto draws miss it badly at 100-200 referrers).
    top_referrer_share: float = 0.80
    # Share of specialty referrals by in-network clinicians that go to outside organizations:
    # 55-65% leakage is the range reported by referral-management vendors and the
    # Advisory Board; we use the middle.
    outbound_leakage_share: float = 0.60
    # About 83% of patients schedule when their primary care physician recommends a
    # specialist (patient-survey figure quoted across referral-management literature).
    booking_rate_physician: float = 0.83
    booking_rate_internal: float = 0.88
    booking_rate_lead: float = 0.90
    # New-patient wait for a specialist: 26 days average across specialties in the 2022
    # AMN/Merritt Hawkins survey; a lognormal with this median has that mean.
    median_days_to_slot: float = 18.0
    median_days_to_book: float = 3.0
    reschedule_rate: float = 0.15
    cancel_rate: float = 0.10
    rebook_after_cancel_rate: float = 0.45
    # No-shows run 10-30% in ambulatory care (systematic reviews, e.g. Dantas et al. 2018
    # report a 23% average); specialty new-patient visits sit in the middle.
    no_show_rate: float = 0.18
    rebook_after_no_show_rate: float = 0.35
    modify_rate: float = 0.05
    delete_rate: float = 0.02
    # Referring physicians report receiving consult information for about 62% of referrals
    # (Forrest et al., 2000; O'Malley & Reschovsky, 2011 report similar gaps).
    consult_note_rate: float = 0.62
    median_days_to_consult_note: float = 4.0
    # Intake leads: share that convert to a referral, and days to convert.
    lead_conversion_rate: float = 0.35
    median_days_to_convert: float = 4.0
    # Web: visitors coming back for more sessions, and session-to-lead conversion
    # (healthcare landing pages convert roughly 3-5% of sessions).
    return_visit_rate: float = 0.30
    lead_form_rate: float = 0.04
    click_to_call_rate: float = 0.02
    existing_patient_share: float = 0.10
    liaison_activities_per_weekday: float = 2.0


@dataclass(frozen=True)
class DefectRates:
    """Rates at which real-feed defects are injected; every injected defect is in the truth file."""

    missing_referral_source: float = 0.01
    invalid_status: float = 0.005
    invalid_npi: float = 0.03
    unparseable_record: float = 0.002
    duplicate_record: float = 0.004
    orphan_appointment: float = 0.004
    duplicate_files: int = 1
    unexpected_column_files: int = 1

    @classmethod
    def none(cls) -> DefectRates:
        """A clean world: no defect of any kind."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0)
