"""CSV exports of a healthcare CRM: practices, providers, activities, campaigns, spend, leads.

Each entity has its own folder and a fixed column list; exports are incremental (records
created or modified since the previous export), as CRM data-export jobs deliver them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from source_simulator import fhir
from source_simulator.draws import (
    any_time,
    lognormal,
    poisson,
    weekday_factor,
    weighted_index,
    work_time,
)
from source_simulator.npi import break_npi
from source_simulator.output import (
    CSV_ROWS,
    RecordFile,
    Spooled,
)
from source_simulator.world import (
    Campaign,
    Practitioner,
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "referring_practices": (
        "practice_id", "practice_name", "practice_npi", "city", "state", "postal_code",
        "phone", "liaison_owner", "network_status", "created_date", "last_modified_at"),
    "referring_providers": (
        "provider_id", "npi", "first_name", "last_name", "credential", "taxonomy_code",
        "practice_id", "liaison_owner", "relationship_status", "created_date",
        "last_modified_at"),
    "liaison_activities": (
        "activity_id", "activity_date", "activity_type", "liaison_owner", "practice_id",
        "provider_npi", "duration_minutes", "status", "subject", "last_modified_at"),
    "campaigns": (
        "campaign_id", "campaign_name", "channel", "utm_source", "utm_medium", "utm_campaign",
        "start_date", "end_date", "budget_amount", "currency", "target_specialty_code",
        "status", "last_modified_at"),
    "campaign_spend": (
        "campaign_id", "spend_date", "spend_amount", "currency", "impressions", "clicks",
        "last_modified_at"),
    "intake_leads": (
        "lead_id", "created_at", "first_name", "last_name", "phone", "email", "date_of_birth",
        "postal_code", "referral_source", "referral_source_other", "referring_provider_npi",
        "campaign_id", "utm_campaign", "ga_client_id", "specialty_requested", "status",
        "converted_referral_id", "converted_at", "last_modified_at"),
}


def row(values: Sequence[object]) -> str:
    """Return one CSV row (RFC 4180 quoting, no line terminator)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(
        "" if value is None else value for value in values)
    return buffer.getvalue()


def header(entity: str, extra: Sequence[str] = ()) -> str:
    """Return the header row of an entity's export file."""
    return row([*COLUMNS[entity], *extra])


ACTIVITY_TYPES = (("office_visit", 0.35), ("call", 0.30), ("lunch_and_learn", 0.12),
                  ("cme_event", 0.05), ("thank_you_note", 0.18))


OTHER_SOURCES = ("Health fair", "Friend or family", "Radio ad", "Insurance directory")


class CrmSystem:
    """The CRM's part of the simulation: leads, liaison visits, spend, reference exports.

    A part of `Simulation` (source_simulator/simulation.py), whose state it shares.
    """

    def _crm_file(self, entity: str, period: str) -> RecordFile:
        drifted = (entity == "liaison_activities" and self.defects.unexpected_column_files > 0
                   and period == self._unexpected_column_month)
        if not drifted:
            return self.record_file(f"crm/{entity}/{entity}_{period}.csv", "crm", entity,
                                    CSV_ROWS, header=header(entity))
        # Schema drift: the CRM admin added a field and the export picked it up.
        record_file = self.record_file(
            f"crm/{entity}/{entity}_{period}.csv", "crm", entity, CSV_ROWS,
            header=header(entity, ("territory_code",)),
            row_transform=lambda text: text + ",NE-3", file_defect="unexpected_column")
        record_file.injector = None
        return record_file

    # ----- CRM ---------------------------------------------------------------------------
    def _phone_leads(self, day: date) -> None:
        rng = self.rng
        for _ in range(poisson(rng, self.rates.phone_leads_per_weekday
                                * weekday_factor(day) * self.scale)):
            roll = rng.random()
            source = ("self_referral" if roll < 0.55 else "community_partner" if roll < 0.75
                      else "physician" if roll < 0.9 else "other")
            doc = None
            if source == "physician":
                doc = rng.choices(self.world.community_referrers,
                                  cum_weights=self._community_cum)[0]
            self._lead(work_time(rng, day), source, None, None, doc)

    def _lead(self, created: datetime, source: str, campaign: Campaign | None,
              client_id: str | None, referrer: Practitioner | None) -> str:
        rng, rates = self.rng, self.rates
        lead_id = f"LEAD-{self._next('lead'):07d}"
        person = self._person()
        specialty = campaign.specialty if campaign else self._specialty()
        other = rng.choice(OTHER_SOURCES) if source == "other" else None
        recorded_source: str | None = source
        defects: tuple[str, ...] = ()
        if self._defect(self.defects.missing_referral_source):
            recorded_source, other, defects = None, None, ("missing_referral_source",)

        def lead_row(status: str, modified: datetime, referral_id: str | None = None,
                     converted: datetime | None = None) -> list[object]:
            return [lead_id, fhir.instant(created), person.given, person.family, person.phone,
                    person.email, person.birth.isoformat(), person.zip_code, recorded_source,
                    other, referrer.npi if referrer else None,
                    campaign.campaign_id if campaign else None,
                    campaign.utm_campaign if campaign else None, client_id, specialty.code,
                    status, referral_id, fhir.instant(converted) if converted else None,
                    fhir.instant(modified)]

        first_status = "new"
        first_defects = defects
        if self._defect(self.defects.invalid_status):
            first_status, first_defects = "lost", (*defects, "invalid_status")
        self.leads.add(f"{created:%Y%m}", Spooled((created, lead_id),
                                                  row(lead_row(first_status, created)),
                                                  lead_id, first_defects))
        if rng.random() < rates.lead_conversion_rate:
            converted = created + timedelta(days=lognormal(rng, rates.median_days_to_convert))
            referral_id = self._referral(converted, referrer, specialty, source, person)
            if referral_id is None:
                return lead_id
            final = lead_row("converted", converted, referral_id, converted)
            moment = converted
        else:
            moment = created + timedelta(days=rng.randint(2, 12))
            final = lead_row("disqualified" if rng.random() < 0.6 else "contacted", moment)
        if moment <= self.end_at:
            late = ("late_update",) if f"{moment:%Y%m}" > f"{created:%Y%m}" else ()
            self.leads.add(f"{moment:%Y%m}", Spooled((moment, lead_id), row(final),
                                                     lead_id, (*defects, *late)))
        return lead_id

    def _liaison_day(self, day: date) -> None:
        rng, world = self.rng, self.world
        if not world.practices:
            return
        count = poisson(rng, self.rates.liaison_activities_per_weekday
                         * weekday_factor(day) * self.scale)
        for _ in range(count):
            practice = rng.choices(world.practices, cum_weights=self._practice_cum)[0]
            kind = ACTIVITY_TYPES[weighted_index(rng, [w for _, w in ACTIVITY_TYPES])][0]
            doctors = self._doctors_by_practice[practice.org_id]
            npi = rng.choice(doctors).npi if doctors and rng.random() < 0.6 else None
            moment = work_time(rng, day)
            activity_id = f"ACT-{self._next('activity'):07d}"
            minutes = {"call": 10, "thank_you_note": 5, "cme_event": 90}.get(kind, 45)
            status = "completed" if rng.random() < 0.9 else "cancelled"
            values = [activity_id, day.isoformat(), kind, practice.liaison,
                      practice.crm_practice_id, npi, minutes, status,
                      f"{kind.replace('_', ' ').title()} with {practice.name}",
                      fhir.instant(moment)]
            self.activities.add(f"{day:%Y%m}", Spooled((moment, activity_id), row(values),
                                                       activity_id))

    def _spend(self, day: date, campaign: Campaign) -> None:
        rng = self.rng
        amount = round(campaign.daily_budget * rng.uniform(0.8, 1.2), 2)
        clicks = int(amount / (campaign.cost_per_click * rng.uniform(0.8, 1.2)))
        impressions = clicks * rng.randint(25, 60)
        modified = datetime.combine(day + timedelta(days=1), time(5), UTC)
        values = [campaign.campaign_id, day.isoformat(), f"{amount:.2f}", "USD", impressions,
                  clicks, fhir.instant(modified)]
        self.spend.add(f"{day:%Y%m}", Spooled((day.isoformat(), campaign.campaign_id),
                                              row(values), f"{campaign.campaign_id}:{day}"))
        for _ in range(clicks):
            self._visitor(any_time(rng, day), campaign)

    def _write_crm_reference(self) -> None:
        world, end = self.world, self.end
        stamp = f"{end:%Y%m%d}"
        modified = fhir.instant(self.end_at)
        practices = self.record_file(f"crm/referring_practices/referring_practices_{stamp}.csv",
                                     "crm", "referring_practices", CSV_ROWS,
                                     header=header("referring_practices"))
        for p in world.practices:
            practices.write(row([p.crm_practice_id, p.name, p.npi, p.city, p.state,
                                     p.zip_code, p.phone, p.liaison, "out-of-network",
                                     p.created.isoformat() if p.created else None, modified]),
                            p.crm_practice_id)
        practices.close()
        providers = self.record_file(f"crm/referring_providers/referring_providers_{stamp}.csv",
                                     "crm", "referring_providers", CSV_ROWS,
                                     header=header("referring_providers"))
        for d in world.community_referrers:
            npi, defects = d.npi, ()
            if self._defect(self.defects.invalid_npi):
                npi, defects = break_npi(d.npi), ("invalid_npi",)
            status = "active" if d.active_until is None else "inactive"
            providers.write(row([d.crm_provider_id, npi, d.given, d.family, "MD",
                                     d.taxonomy_code, d.organization.crm_practice_id, d.liaison,
                                     status, (d.active_from or world.start).isoformat(),
                                     modified]), d.crm_provider_id, defects)
        providers.close()
        campaigns = self.record_file(f"crm/campaigns/campaigns_{stamp}.csv", "crm", "campaigns",
                                     CSV_ROWS, header=header("campaigns"))
        for c in world.campaigns:
            status = "completed" if c.end < end else "active"
            campaigns.write(row([c.campaign_id, c.name, c.channel, c.utm_source,
                                     c.utm_medium, c.utm_campaign, c.start.isoformat(),
                                     c.end.isoformat(), f"{c.budget:.2f}", "USD",
                                     c.specialty.code, status, modified]), c.campaign_id)
        campaigns.close()
