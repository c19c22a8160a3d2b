"""The day-by-day simulation of one referral world, writing all four source systems.

Days advance in order. Everything a day starts (a referral's bookings, visit, claim and
consult note; a web visitor's return sessions and lead) is drawn at once and may lie in the
future; it is routed to the file of the period it happens in. Files of periods that are over
are written and closed as the clock passes them, so memory holds only what can still change.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from source_simulator import siu, workflow
from source_simulator.crm import CrmSystem
from source_simulator.draws import cumulative, months_before
from source_simulator.ehr import EhrSystem, FhirExport
from source_simulator.ga4 import WebSystem
from source_simulator.output import (
    Injector,
    PeriodSpool,
    RecordFile,
    TruthLog,
    redeliver,
)
from source_simulator.rates import DefectRates, WorldRates
from source_simulator.siu import SchedulingSystem
from source_simulator.world import (
    Person,
    Practitioner,
    World,
    build_world,
)


class Simulation(EhrSystem, SchedulingSystem, CrmSystem, WebSystem):
    """Draws one world from a seed and writes its four source systems to a landing folder."""

    def __init__(self, landing: Path, truth_path: Path, *, seed: int, scale: float, end: date,
                 months: int, defects: DefectRates, rates: WorldRates | None = None,
                 standards: workflow.StandardsRates | None = None,
                 chunk_size: int = 100_000) -> None:
        self.landing = landing
        self.rates = rates or WorldRates()
        self.defects = defects
        self.scale = scale
        self.chunk_size = chunk_size
        self.rng = random.Random(seed)
        # Defects draw from their own streams, so a clean world and a spoiled one share the
        # same people, referrals and events.
        self.defect_rng = random.Random(seed * 7919 + 1)
        # The standards' shapes (Tasks, Appointments, UBRNs, orders that are no referral) draw
        # from a stream of their own too: the world's people and events stay the same.
        self.standards = standards or workflow.StandardsRates()
        self.standards_rng = random.Random(seed * 7919 + 3)
        self._referral_numbers: dict[str, str] = {}  # referral id -> number SIU quotes
        self._fhir_scheduled: set[str] = set()  # referrals booked as FHIR Appointments only
        self._bookings: dict[str, list[tuple[str, datetime, siu.AppointmentView]]] = {}
        self._booking_referral: dict[str, tuple[str, Person, Practitioner]] = {}
        self._visits: dict[tuple[str, datetime], datetime] = {}
        self.end = end
        self.start = months_before(end, months)
        self.truth = TruthLog(truth_path)
        self.injector = Injector(random.Random(seed * 7919 + 2), defects.unparseable_record,
                                 defects.duplicate_record)
        self.world: World = build_world(self.rng, scale, self.start, end, self.rates)
        self.end_at = datetime.combine(end, time(23, 59, 59), UTC)
        self.cutoff = datetime.combine(end - timedelta(days=30), time(0), UTC)
        self.exports = (
            FhirExport(self, f"export_{self.cutoff:%Y%m%d}", self.cutoff, None),
            FhirExport(self, f"export_{end + timedelta(days=1):%Y%m%d}",
                       self.end_at + timedelta(seconds=1), self.cutoff),
        )
        self.siu = PeriodSpool(self._siu_file)
        self.web = PeriodSpool(self._web_file)
        self.leads = PeriodSpool(lambda month: self._crm_file("intake_leads", month))
        self.activities = PeriodSpool(lambda month: self._crm_file("liaison_activities", month))
        self.spend = PeriodSpool(lambda month: self._crm_file("campaign_spend", month))
        self.written: dict[str, list[RecordFile]] = {}
        self._ids: dict[str, int] = {}
        self._recent_people: list[Person] = []
        self._unexpected_column_month = f"{months_before(end, max(1, months // 2)):%Y%m}"
        referrers = self.world.community_referrers
        self._community_cum = cumulative([d.weight for d in referrers])
        self._pcp_cum = cumulative([d.weight for d in self.world.network_pcps])
        self._doctors_by_practice: dict[str, list[Practitioner]] = {}
        for doc in referrers:
            self._doctors_by_practice.setdefault(doc.organization.org_id, []).append(doc)
        # Liaisons call on practices in proportion to the referrals those practices send.
        self._practice_cum = cumulative([
            sum(d.weight for d in self._doctors_by_practice.get(p.org_id, [])) + 0.5
            for p in self.world.practices])

    # ----- files -------------------------------------------------------------------------
    def record_file(self, relative: str, source: str, entity: str, fmt: Any,
                    **kwargs: Any) -> RecordFile:
        """Return a new landing file that logs its defects to the truth file."""
        record_file = RecordFile(self.landing / relative, relative, source, entity, fmt,
                                 self.truth, self.injector, **kwargs)
        self.written.setdefault(entity, []).append(record_file)
        return record_file




    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    # ----- the run -----------------------------------------------------------------------
    def run(self) -> None:
        """Simulate every day and write every file."""
        self._write_directory()
        day = self.start
        while day <= self.end:
            self.siu.flush_before(f"{day:%Y%m%d}")
            self.web.flush_before(f"{day:%Y%m%d}")
            for spool in (self.leads, self.activities, self.spend):
                spool.flush_before(f"{day:%Y%m}")
            self._web_day(day)
            self._phone_leads(day)
            self._physician_referrals(day)
            self._liaison_day(day)
            day += timedelta(days=1)
        for spool in (self.siu, self.web, self.leads, self.activities, self.spend):
            spool.flush_all()
        self._write_appointments()
        for export in self.exports:
            export.close()
        self._write_crm_reference()
        self._redeliver_files()
        self.truth.close()



    def _defect(self, rate: float) -> bool:
        return rate > 0 and self.defect_rng.random() < rate





















    def _redeliver_files(self) -> None:
        """Deliver one file per feed twice, as a feed does after a retried transfer."""
        for entity, suffix in (("siu_messages", ".resend"), ("ga4_events", ".redelivered"),
                               ("campaign_spend", ".resend")):
            files = [f for f in self.written.get(entity, []) if f.count > 0]
            for original in files[len(files) // 3:][: self.defects.duplicate_files]:
                stem, extension = original.relative.rsplit(".", 1)
                redeliver(self.truth, self.landing, original, f"{stem}{suffix}.{extension}")





















