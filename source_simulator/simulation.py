"""The day-by-day simulation of one referral world, writing all four source systems.

Days advance in order. Everything a day starts (a referral's bookings, visit, claim and
consult note; a web visitor's return sessions and lead) is drawn at once and may lie in the
future; it is routed to the file of the period it happens in. Files of periods that are over
are written and closed as the clock passes them, so memory holds only what can still change.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from source_simulator import crm, fhir, ga4, siu, workflow
from source_simulator.npi import break_check_digit
from source_simulator.output import (
    CSV_ROWS,
    HL7_BATCH,
    NDJSON,
    Injector,
    PeriodSpool,
    RecordFile,
    Spooled,
    TruthLog,
    redeliver,
)
from source_simulator.rates import DefectRates, WorldRates
from source_simulator.world import (
    PAYERS,
    SPECIALTIES,
    Campaign,
    Organization,
    Practitioner,
    Specialty,
    World,
    build_world,
)

SPECIALTY_MIX = (0.28, 0.25, 0.20, 0.15, 0.12)
INVALID_STATUSES = ("pending", "closed", "ACTIVE", "in-progress")
ACTIVITY_TYPES = (("office_visit", 0.35), ("call", 0.30), ("lunch_and_learn", 0.12),
                  ("cme_event", 0.05), ("thank_you_note", 0.18))
OTHER_SOURCES = ("Health fair", "Friend or family", "Radio ad", "Insurance directory")
PAYER_FACTOR = {"1": 0.8, "2": 0.6, "5": 1.1, "81": 0.7}


@dataclass
class Person:
    """A patient or would-be patient, with every direct identifier a source may carry."""

    patient_id: str
    mrn: str
    given: str
    family: str
    gender: str
    birth: date
    street: str
    city: str
    state: str
    zip_code: str
    phone: str
    payer: Organization
    payer_class: tuple[str, str]
    registered: bool = False

    @property
    def coverage_id(self) -> str:
        """Return the id of the person's Coverage resource."""
        return f"cov-{self.patient_id[4:]}"

    @property
    def email(self) -> str:
        """Return the e-mail address a web form would capture."""
        return f"{self.given.lower()}.{self.family.lower()}{self.mrn[-3:]}@example.net"


def _weekday_factor(day: date) -> float:
    return (1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.05)[day.weekday()]


class FhirExport:
    """One bulk `$export` folder: NDJSON per resource type, chunked, plus its manifest."""

    def __init__(self, sim: Simulation, folder: str, transaction_time: datetime,
                 since: datetime | None) -> None:
        self.sim = sim
        self.folder = folder
        self.transaction_time = transaction_time
        self.since = since
        self._files: dict[str, list[RecordFile]] = {}

    def write(self, resource: dict[str, Any], defects: tuple[str, ...] = ()) -> None:
        """Append a resource to its type's current chunk file."""
        rtype = resource["resourceType"]
        chunks = self._files.setdefault(rtype, [])
        if not chunks or chunks[-1].count >= self.sim.chunk_size:
            if chunks:
                chunks[-1].close()
            name = f"{rtype}.{len(chunks):03d}.ndjson"
            relative = f"ehr/{self.folder}/{name}"
            chunks.append(self.sim.record_file(relative, "ehr", _snake(rtype), NDJSON))
        chunks[-1].write(json.dumps(resource, separators=(",", ":")),
                         f"{rtype}/{resource['id']}", defects)

    def close(self) -> None:
        """Close every chunk and write the manifest that lists them."""
        output = []
        for rtype in sorted(self._files):
            for chunk in self._files[rtype]:
                chunk.close()
                name = chunk.relative.rsplit("/", 1)[1]
                output.append({"type": rtype, "count": chunk.count,
                               "url": f"https://ehr.riverbend.example/fhir/bulkfiles/"
                                      f"{self.folder}/{name}"})
        request = "https://ehr.riverbend.example/fhir/$export?_outputFormat=application/fhir+ndjson"
        if self.since is not None:
            request += f"&_since={fhir.instant(self.since)}"
        manifest = {"transactionTime": fhir.instant(self.transaction_time), "request": request,
                    "requiresAccessToken": True, "output": output, "error": []}
        path = self.sim.landing / "ehr" / self.folder / "manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _snake(resource_type: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in resource_type).lstrip("_")


class Simulation:
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
        self.start = _months_before(end, months)
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
        self._unexpected_column_month = f"{_months_before(end, max(1, months // 2)):%Y%m}"
        referrers = self.world.community_referrers
        self._community_cum = _cumulative([d.weight for d in referrers])
        self._pcp_cum = _cumulative([d.weight for d in self.world.network_pcps])
        self._doctors_by_practice: dict[str, list[Practitioner]] = {}
        for doc in referrers:
            self._doctors_by_practice.setdefault(doc.organization.org_id, []).append(doc)
        # Liaisons call on practices in proportion to the referrals those practices send.
        self._practice_cum = _cumulative([
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

    def _siu_file(self, day: str) -> RecordFile:
        sent = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)
        return self.record_file(f"scheduling/siu_{day}.hl7", "scheduling", "siu_messages",
                                HL7_BATCH, header=siu.batch_header(day, sent),
                                trailer=siu.batch_trailer)

    def _web_file(self, day: str) -> RecordFile:
        return self.record_file(f"web/events_{day}.ndjson", "web", "ga4_events", NDJSON)

    def _crm_file(self, entity: str, period: str) -> RecordFile:
        drifted = (entity == "liaison_activities" and self.defects.unexpected_column_files > 0
                   and period == self._unexpected_column_month)
        if not drifted:
            return self.record_file(f"crm/{entity}/{entity}_{period}.csv", "crm", entity,
                                    CSV_ROWS, header=crm.header(entity))
        # Schema drift: the CRM admin added a field and the export picked it up.
        record_file = self.record_file(
            f"crm/{entity}/{entity}_{period}.csv", "crm", entity, CSV_ROWS,
            header=crm.header(entity, ("territory_code",)),
            row_transform=lambda text: text + ",NE-3", file_defect="unexpected_column")
        record_file.injector = None
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

    def _emit(self, resource: dict[str, Any], updated: datetime,
              defects: tuple[str, ...] = ()) -> None:
        if updated <= self.cutoff:
            self.exports[0].write(resource, defects)
        elif updated <= self.end_at:
            self.exports[1].write(resource, defects)

    def _write_directory(self) -> None:
        world = self.world
        updated = datetime.combine(self.start - timedelta(days=1), time(6), UTC)
        for org in world.organizations:
            self._emit(fhir.organization(org, updated), updated)
        for loc in world.locations:
            self._emit(fhir.location(loc, updated), updated)
        for doc in world.practitioners:
            npi, defects = doc.npi, ()
            if not doc.in_network and self._defect(self.defects.invalid_npi):
                npi, defects = break_check_digit(doc.npi), ("invalid_npi",)
            self._emit(fhir.practitioner(doc, npi, updated), updated, defects)
            self._emit(fhir.practitioner_role(doc, updated), updated)

    def _defect(self, rate: float) -> bool:
        return rate > 0 and self.defect_rng.random() < rate

    # ----- people ------------------------------------------------------------------------
    def _person(self) -> Person:
        rng, world = self.rng, self.world
        if self._recent_people and rng.random() < self.rates.existing_patient_share:
            return rng.choice(self._recent_people)
        number = self._next("patient")
        age = int(rng.triangular(18, 92, 64))
        city, state, zip_code = rng.choice(world.cities)
        payer_index = _weighted_index(rng, [p[4] for p in PAYERS])
        payer = world.payers[payer_index]
        person = Person(
            patient_id=f"pat-{number:07d}", mrn=f"M{40_000_000 + number * 7:08d}",
            given=rng.choice(world.first_names), family=rng.choice(world.last_names),
            gender=rng.choice(("female", "male")),
            birth=self.end - timedelta(days=age * 365 + rng.randint(0, 364)),
            street=f"{rng.randint(10, 9899)} {rng.choice(world.streets)}",
            city=city, state=state, zip_code=zip_code,
            phone=f"({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(0, 9999):04d}",
            payer=payer, payer_class=(PAYERS[payer_index][2], PAYERS[payer_index][3]),
        )
        self._recent_people.append(person)
        if len(self._recent_people) > 5000:
            self._recent_people.pop(0)
        return person

    def _register(self, person: Person, moment: datetime) -> None:
        if person.registered:
            return
        person.registered = True
        self._emit(fhir.patient(person.patient_id, person.mrn, person.given, person.family,
                                person.gender, person.birth, person.street, person.city,
                                person.state, person.zip_code, person.phone, moment), moment)
        self._emit(fhir.coverage(person.coverage_id, person.patient_id, person.payer,
                                 *person.payer_class, moment), moment)

    # ----- referrals ---------------------------------------------------------------------
    def _physician_referrals(self, day: date) -> None:
        rng, world, rates = self.rng, self.world, self.rates
        factor = _weekday_factor(day) * self.scale
        for _ in range(_poisson(rng, rates.community_referrals_per_weekday * factor)):
            doc = rng.choices(world.community_referrers, cum_weights=self._community_cum)[0]
            if doc.refers_on(day):
                self._referral(_work_time(rng, day), doc, self._specialty(), "physician")
        for _ in range(_poisson(rng, rates.network_pcp_referrals_per_weekday * factor)):
            doc = rng.choices(world.network_pcps, cum_weights=self._pcp_cum)[0]
            self._referral(_work_time(rng, day), doc, self._specialty(), "physician")

    def _specialty(self) -> Specialty:
        return SPECIALTIES[_weighted_index(self.rng, SPECIALTY_MIX)]

    def _referral(self, authored: datetime, requester: Practitioner | None,
                  specialty: Specialty, channel: str, person: Person | None = None) -> str | None:
        if authored > self.end_at:
            return None
        rng, rates, world = self.rng, self.rates, self.world
        person = person or self._person()
        self._register(person, authored)
        referral_id = f"REF-{self._next('referral'):07d}"
        outbound = (requester is not None and requester.in_network
                    and rng.random() < rates.outbound_leakage_share)
        if outbound:
            performer = None
            performer_org = rng.choice(world.outside_by_specialty[specialty.code])
        else:
            performer = rng.choice(world.specialists_by_specialty[specialty.code])
            performer_org = performer.organization
        priority = "urgent" if rng.random() < 0.15 else "routine"
        shapes = self._standard_shapes(referral_id, channel)
        versions = [(authored, "active")]
        if not outbound:
            if channel != "physician":
                book_rate = rates.booking_rate_lead
            elif requester is not None and requester.in_network:
                book_rate = rates.booking_rate_internal
            else:
                book_rate = rates.booking_rate_physician
            assert performer is not None
            versions += self._journey(referral_id, authored, person, performer, requester,
                                      book_rate)
        # With a requester the standards' own fields say where a referral came from; only a
        # referral sent by nobody and naming no source has lost it (docs/metrics.md).
        source = None if requester is None and self._defect(
            self.defects.missing_referral_source) else channel
        source_defect = ("missing_referral_source",) if source is None else ()
        for export_index, (low, high) in enumerate(((None, self.cutoff),
                                                    (self.cutoff, self.end_at))):
            window = [(i, v) for i, v in enumerate(versions)
                      if (low is None or v[0] > low) and v[0] <= high]
            if not window:
                continue
            index, (updated, status) = window[-1]
            defects = source_defect
            if self._defect(self.defects.invalid_status):
                status = self.defect_rng.choice(INVALID_STATUSES)
                defects = (*defects, "invalid_status")
            if export_index == 1 and versions[0][0] <= self.cutoff:
                defects = (*defects, "late_update")
            resource = fhir.service_request(
                referral_id=referral_id, status=status, priority=priority, authored=authored,
                updated=updated, version=index + 1, patient_id=person.patient_id,
                requester=requester, performer=performer, performer_org=performer_org,
                location=performer.location if performer else None, specialty=specialty,
                source_channel=source, coverage_id=person.coverage_id)
            if "ubrn" in shapes:
                workflow.as_ubrn(resource, self._referral_numbers[referral_id])
            if "identifier_only_subject" in shapes:
                workflow.identifier_only_subject(resource, person.mrn)
            self.exports[export_index].write(resource, defects)
        if not outbound:
            self._task(referral_id, authored, person, performer_org, requester, versions)
        self._orders_beside(referral_id, authored, person, requester, resource)
        return referral_id

    # ----- the standards' shapes (source_simulator/workflow.py) ----------------------------
    def _standard_shapes(self, referral_id: str, channel: str) -> set[str]:
        """Draw which of the standards' shapes a referral takes, before it is journeyed."""
        rng, rates, shapes = self.standards_rng, self.standards, set()
        if channel == "physician" and rng.random() < rates.ubrn_share:
            shapes.add("ubrn")
            self._referral_numbers[referral_id] = workflow.ubrn(referral_id)
            self.truth.add("standards_shape", "ehr", "service_request", None, None,
                           f"ServiceRequest/{referral_id.lower()}", shape="ubrn",
                           expect={"referral_number": self._referral_numbers[referral_id]})
        if rng.random() < rates.fhir_scheduled_share:
            self._fhir_scheduled.add(referral_id)
        if rng.random() < rates.identifier_only_subject_share:
            shapes.add("identifier_only_subject")
            self.truth.add("standards_shape", "ehr", "service_request", None, None,
                           f"ServiceRequest/{referral_id.lower()}",
                           shape="identifier_only_subject",
                           expect={"patient_key_source": "identifier_matched"})
        return shapes

    def _emit_versions(self, versions: list[tuple[datetime, Any]], build: Any) -> None:
        """Write, to each export, the latest version stated within its window."""
        for export_index, (low, high) in enumerate(((None, self.cutoff),
                                                    (self.cutoff, self.end_at))):
            window = [(i, v) for i, v in enumerate(versions)
                      if (low is None or v[0] > low) and v[0] <= high]
            if window:
                index, version = window[-1]
                self.exports[export_index].write(build(index + 1, *version))

    def _task(self, referral_id: str, authored: datetime, person: Person,
              owner: Organization, requester: Practitioner | None,
              versions: list[tuple[datetime, str]]) -> None:
        """Carry a share of referrals' workflow on a Task (360X, BaRS) beside the request."""
        rng, rates = self.standards_rng, self.standards
        if rng.random() >= rates.task_share:
            return
        steps = [(authored + timedelta(minutes=5), "requested"),
                 (authored + timedelta(hours=20), "accepted")]
        for moment, status in versions[1:]:
            steps.append((moment, "completed" if status == "completed" else "cancelled"))
        if len(versions) == 1 and rng.random() < rates.rejected_share:
            steps[1] = (authored + timedelta(hours=20), "rejected")
            self.truth.add("standards_shape", "ehr", "task", None, None,
                           f"ServiceRequest/{referral_id.lower()}", shape="task_rejected",
                           expect={"leakage_reason": "rejected_by_receiver"})
        steps = [step for step in steps if step[0] <= self.end_at]
        task_id = f"task-{referral_id.lower()}"
        self._emit_versions(steps, lambda version, moment, status: workflow.task(
            task_id=task_id, referral_id=referral_id, patient_id=person.patient_id,
            status=status, authored=authored, modified=moment, version=version,
            owner_org_id=owner.org_id,
            requester_id=requester.practitioner_id if requester else None))

    def _orders_beside(self, referral_id: str, authored: datetime, person: Person,
                       requester: Practitioner | None, referral: dict[str, Any]) -> None:
        """Write the lab orders and drafts a referring clinician leaves beside referrals."""
        rng, rates = self.standards_rng, self.standards
        if requester is None:
            return
        if rng.random() < rates.lab_order_share:
            order_id = f"LAB-{referral_id[4:]}"
            self._emit(workflow.lab_order(
                order_id=order_id, patient_id=person.patient_id,
                requester_id=requester.practitioner_id, authored=authored,
                code=rng.choice(workflow.LAB_ORDERS)), authored)
            self.truth.add("standards_shape", "ehr", "service_request", None, None,
                           f"ServiceRequest/{order_id.lower()}", shape="lab_order",
                           expect={"service_request_kind": "laboratory",
                                   "exclusion_reason": "not_a_referral"})
        if rng.random() < rates.draft_share:
            draft = json.loads(json.dumps(referral))
            draft["id"] = f"draft-{referral_id[4:]}"
            draft["identifier"] = []
            draft["meta"] = {"versionId": "1", "lastUpdated": fhir.instant(authored)}
            workflow.as_draft(draft)
            self._emit(draft, authored)
            self.truth.add("standards_shape", "ehr", "service_request", None, None,
                           f"ServiceRequest/{draft['id']}", shape="draft",
                           expect={"exclusion_reason": "draft"})

    def _write_appointments(self) -> None:
        """Export bookings as FHIR Appointments: every FHIR-scheduled clinic's, and some more.

        The others are a share of SIU's bookings, which SIU reports as well: the warehouse
        must not count them twice.
        """
        rng, rates = self.standards_rng, self.standards
        for appointment_id, events in self._bookings.items():
            referral_id, person, doctor = self._booking_referral[appointment_id]
            fhir_only = referral_id in self._fhir_scheduled
            if not fhir_only and rng.random() >= rates.appointment_copy_share:
                continue
            assert doctor.location is not None and doctor.specialty is not None
            created = events[0][1]
            versions = [(sent, workflow.APPOINTMENT_STATUS[trigger], appt.start)
                        for trigger, sent, appt in events]
            last_start = versions[-1][2]
            seen = self._visits.get((referral_id, last_start))
            if seen is not None and seen <= self.end_at and versions[-1][1] == "booked":
                versions.append((seen, "fulfilled", last_start))
            minutes = doctor.specialty.slot_minutes
            self._emit_versions(versions, lambda version, moment, status, start,
                                appointment_id=appointment_id, referral_id=referral_id,
                                person=person, doctor=doctor, created=created,
                                minutes=minutes: workflow.appointment(
                appointment_id=appointment_id, referral_id=referral_id,
                patient_id=person.patient_id, status=status, start=start, minutes=minutes,
                updated=moment, created=created, version=version,
                practitioner_id=doctor.practitioner_id,
                location_id=doctor.location.location_id))

    def _journey(self, referral_id: str, authored: datetime, person: Person,
                 doctor: Practitioner, requester: Practitioner | None,
                 book_rate: float) -> list[tuple[datetime, str]]:
        """Book, move, cancel and attend appointments; return later referral statuses."""
        rng, rates = self.rng, self.rates
        if rng.random() >= book_rate:
            if rng.random() < 0.5:
                return [(authored + timedelta(days=rng.randint(60, 120)), "revoked")]
            return []
        moment = authored
        for _attempt in range(3):
            booked = moment + timedelta(days=_lognormal(rng, rates.median_days_to_book))
            slot = _slot(rng, booked + timedelta(days=_lognormal(rng, rates.median_days_to_slot)))
            appt = self._appointment(referral_id, person, doctor, slot)
            self._siu("S12", booked, appt)
            if self._defect(self.defects.orphan_appointment):
                self._orphan(booked, doctor)
            if rng.random() < rates.delete_rate:
                self._siu("S17", booked + timedelta(minutes=20), appt)
                moment = booked + timedelta(minutes=30)
                continue
            if rng.random() < rates.modify_rate:
                self._siu("S14", _between(rng, booked, slot), appt)
            if rng.random() < rates.reschedule_rate:
                moved = _between(rng, booked, slot)
                slot = _slot(rng, slot + timedelta(days=rng.randint(3, 20)))
                appt = self._appointment(referral_id, person, doctor, slot, appt.appointment_id)
                self._siu("S13", moved, appt)
            if rng.random() < rates.cancel_rate:
                cancelled = _between(rng, booked, slot)
                self._siu("S15", cancelled, appt)
                if rng.random() < rates.rebook_after_cancel_rate:
                    moment = cancelled
                    continue
                return [(cancelled + timedelta(days=1), "revoked")]
            if rng.random() < rates.no_show_rate:
                self._siu("S26", slot + timedelta(minutes=20), appt)
                if rng.random() < rates.rebook_after_no_show_rate:
                    moment = slot + timedelta(days=1)
                    continue
                return []
            return self._visit(referral_id, person, doctor, requester, slot)
        return []

    def _visit(self, referral_id: str, person: Person, doctor: Practitioner,
               requester: Practitioner | None, slot: datetime) -> list[tuple[datetime, str]]:
        rng = self.rng
        assert doctor.specialty is not None
        end = slot + timedelta(minutes=doctor.specialty.slot_minutes)
        number = self._next("visit")
        encounter_id = f"enc-{number:07d}"
        self._visits[(referral_id, slot)] = end
        self._emit(fhir.encounter(encounter_id=encounter_id, status="finished",
                                  referral_id=referral_id, patient_id=person.patient_id,
                                  doctor=doctor, start=slot, end=end), end)
        created = end + timedelta(hours=rng.randint(2, 30))
        total = round(doctor.specialty.visit_revenue * rng.uniform(0.85, 1.25)
                      * PAYER_FACTOR[person.payer_class[0]], 2)
        cpt = rng.choice(("99203", "99204", "99204", "99205"))
        self._emit(fhir.claim(claim_id=f"clm-{number:07d}", encounter_id=encounter_id,
                              patient_id=person.patient_id, doctor=doctor,
                              coverage_id=person.coverage_id, created=created, total=total,
                              cpt=cpt), created)
        if requester is not None and rng.random() < self.rates.consult_note_rate:
            lag = _lognormal(rng, self.rates.median_days_to_consult_note)
            if rng.random() < 0.12:
                lag *= 8  # the notes that come back weeks late
            sent = end + timedelta(days=lag)
            self._emit(fhir.consult_note(communication_id=f"com-{number:07d}",
                                         referral_id=referral_id, patient_id=person.patient_id,
                                         sender=doctor, recipient=requester,
                                         encounter_id=encounter_id, sent=sent), sent)
        return [(end, "completed")]

    # ----- scheduling --------------------------------------------------------------------
    def _appointment(self, referral_id: str, person: Person, doctor: Practitioner,
                     slot: datetime, appointment_id: str | None = None) -> siu.AppointmentView:
        assert doctor.specialty is not None and doctor.location is not None
        appointment_id = appointment_id or f"APT{self._next('appointment'):08d}"
        self._booking_referral[appointment_id] = (referral_id, person, doctor)
        return siu.AppointmentView(
            appointment_id=appointment_id,
            referral_id=self._referral_numbers.get(referral_id, referral_id), start=slot,
            minutes=doctor.specialty.slot_minutes,
            mrn=person.mrn, family=person.family.upper(), given=person.given.upper(),
            birth=f"{person.birth:%Y%m%d}", sex=person.gender[0].upper(),
            street=person.street, city=person.city, state=person.state,
            zip_code=person.zip_code, phone=person.phone, provider_npi=doctor.npi,
            provider_family=doctor.family.upper(), provider_given=doctor.given.upper(),
            location_code=doctor.location.code, facility="RIVERBEND",
            service_code=f"NP-{doctor.specialty.service[:4].upper()}",
            service_name=f"New patient {doctor.specialty.service}")

    def _siu(self, trigger: str, sent: datetime, appt: siu.AppointmentView,
             defects: tuple[str, ...] = (), control_id: str | None = None) -> None:
        if sent > self.end_at:
            return
        referral_id = self._booking_referral[appt.appointment_id][0]
        if not defects:
            self._bookings.setdefault(appt.appointment_id, []).append((trigger, sent, appt))
        if referral_id in self._fhir_scheduled and not defects:
            return  # this clinic's bookings reach the warehouse as FHIR Appointments only
        control_id = control_id or f"MSG{self._next('message'):09d}"
        text = siu.message(trigger, control_id, sent, appt)
        self.siu.add(f"{sent:%Y%m%d}", Spooled((sent, control_id), text, control_id, defects))

    def _orphan(self, booked: datetime, doctor: Practitioner) -> None:
        """Book an appointment whose referral the EHR never sent: the orphan defect.

        It draws only from the defect stream, so the rest of the world stays the same.
        """
        person = self._recent_people[-1]
        unknown = f"REF-9{self.defect_rng.randint(0, 999_999):06d}"
        slot = _slot(self.defect_rng, booked + timedelta(days=14))
        appt = self._appointment(unknown, person, doctor, slot, f"APT9{unknown[5:]}")
        self._siu("S12", booked + timedelta(minutes=5), appt, ("orphan_appointment",),
                  control_id=f"MSG9{unknown[5:]}")

    # ----- CRM ---------------------------------------------------------------------------
    def _phone_leads(self, day: date) -> None:
        rng = self.rng
        for _ in range(_poisson(rng, self.rates.phone_leads_per_weekday
                                * _weekday_factor(day) * self.scale)):
            roll = rng.random()
            source = ("self_referral" if roll < 0.55 else "community_partner" if roll < 0.75
                      else "physician" if roll < 0.9 else "other")
            doc = None
            if source == "physician":
                doc = rng.choices(self.world.community_referrers,
                                  cum_weights=self._community_cum)[0]
            self._lead(_work_time(rng, day), source, None, None, doc)

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
                                                  crm.row(lead_row(first_status, created)),
                                                  lead_id, first_defects))
        if rng.random() < rates.lead_conversion_rate:
            converted = created + timedelta(days=_lognormal(rng, rates.median_days_to_convert))
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
            self.leads.add(f"{moment:%Y%m}", Spooled((moment, lead_id), crm.row(final),
                                                     lead_id, (*defects, *late)))
        return lead_id

    def _liaison_day(self, day: date) -> None:
        rng, world = self.rng, self.world
        if not world.practices:
            return
        count = _poisson(rng, self.rates.liaison_activities_per_weekday
                         * _weekday_factor(day) * self.scale)
        for _ in range(count):
            practice = rng.choices(world.practices, cum_weights=self._practice_cum)[0]
            kind = ACTIVITY_TYPES[_weighted_index(rng, [w for _, w in ACTIVITY_TYPES])][0]
            doctors = self._doctors_by_practice[practice.org_id]
            npi = rng.choice(doctors).npi if doctors and rng.random() < 0.6 else None
            moment = _work_time(rng, day)
            activity_id = f"ACT-{self._next('activity'):07d}"
            minutes = {"call": 10, "thank_you_note": 5, "cme_event": 90}.get(kind, 45)
            status = "completed" if rng.random() < 0.9 else "cancelled"
            values = [activity_id, day.isoformat(), kind, practice.liaison,
                      practice.crm_practice_id, npi, minutes, status,
                      f"{kind.replace('_', ' ').title()} with {practice.name}",
                      fhir.instant(moment)]
            self.activities.add(f"{day:%Y%m}", Spooled((moment, activity_id), crm.row(values),
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
                                              crm.row(values), f"{campaign.campaign_id}:{day}"))
        for _ in range(clicks):
            self._visitor(_any_time(rng, day), campaign)

    def _write_crm_reference(self) -> None:
        world, end = self.world, self.end
        stamp = f"{end:%Y%m%d}"
        modified = fhir.instant(self.end_at)
        practices = self.record_file(f"crm/referring_practices/referring_practices_{stamp}.csv",
                                     "crm", "referring_practices", CSV_ROWS,
                                     header=crm.header("referring_practices"))
        for p in world.practices:
            practices.write(crm.row([p.crm_practice_id, p.name, p.npi, p.city, p.state,
                                     p.zip_code, p.phone, p.liaison, "out-of-network",
                                     p.created.isoformat() if p.created else None, modified]),
                            p.crm_practice_id)
        practices.close()
        providers = self.record_file(f"crm/referring_providers/referring_providers_{stamp}.csv",
                                     "crm", "referring_providers", CSV_ROWS,
                                     header=crm.header("referring_providers"))
        for d in world.community_referrers:
            npi, defects = d.npi, ()
            if self._defect(self.defects.invalid_npi):
                npi, defects = break_check_digit(d.npi), ("invalid_npi",)
            status = "active" if d.active_until is None else "inactive"
            providers.write(crm.row([d.crm_provider_id, npi, d.given, d.family, "MD",
                                     d.taxonomy_code, d.organization.crm_practice_id, d.liaison,
                                     status, (d.active_from or world.start).isoformat(),
                                     modified]), d.crm_provider_id, defects)
        providers.close()
        campaigns = self.record_file(f"crm/campaigns/campaigns_{stamp}.csv", "crm", "campaigns",
                                     CSV_ROWS, header=crm.header("campaigns"))
        for c in world.campaigns:
            status = "completed" if c.end < end else "active"
            campaigns.write(crm.row([c.campaign_id, c.name, c.channel, c.utm_source,
                                     c.utm_medium, c.utm_campaign, c.start.isoformat(),
                                     c.end.isoformat(), f"{c.budget:.2f}", "USD",
                                     c.specialty.code, status, modified]), c.campaign_id)
        campaigns.close()

    def _redeliver_files(self) -> None:
        """Deliver one file per feed twice, as a feed does after a retried transfer."""
        for entity, suffix in (("siu_messages", ".resend"), ("ga4_events", ".redelivered"),
                               ("campaign_spend", ".resend")):
            files = [f for f in self.written.get(entity, []) if f.count > 0]
            for original in files[len(files) // 3:][: self.defects.duplicate_files]:
                stem, extension = original.relative.rsplit(".", 1)
                redeliver(self.truth, self.landing, original, f"{stem}{suffix}.{extension}")

    # ----- web ---------------------------------------------------------------------------
    def _web_day(self, day: date) -> None:
        rng = self.rng
        for _ in range(_poisson(rng, self.rates.organic_visitors_per_day * self.scale)):
            self._visitor(_any_time(rng, day), None)
        for campaign in self.world.campaigns:
            if campaign.active_on(day):
                self._spend(day, campaign)

    def _visitor(self, first: datetime, campaign: Campaign | None) -> None:
        rng, rates = self.rng, self.rates
        client_id = f"{rng.randint(10**9, 2 * 10**9 - 1)}.{int(first.timestamp())}"
        if campaign is not None:
            touch = (campaign.utm_source, campaign.utm_medium, campaign.utm_campaign)
        else:
            touch = rng.choice((("google", "organic", "(organic)"),
                                ("(direct)", "(none)", "(direct)"),
                                ("bing", "organic", "(organic)")))
        sessions = [(first, touch if campaign is not None else None)]
        if rng.random() < rates.return_visit_rate:
            for _ in range(rng.randint(1, 2)):
                sessions.append((sessions[-1][0] + timedelta(days=rng.uniform(0.5, 10)), None))
        device = rng.choice(("mobile", "mobile", "desktop", "tablet"))
        city = rng.choice(self.world.cities)[0]
        for number, (start, utm) in enumerate(sessions):
            last = number == len(sessions) - 1
            self._session(start, client_id, utm, touch, device, city, campaign, last)

    def _session(self, start: datetime, client_id: str, utm: tuple[str, str, str] | None,
                 touch: tuple[str, str, str], device: str, city: str,
                 campaign: Campaign | None, last: bool) -> None:
        rng, rates = self.rng, self.rates
        if start > self.end_at:
            return
        session_id = int(start.timestamp())
        landing = f"/services/{campaign.specialty.service.lower()}" if campaign else "/"
        query = (f"?utm_source={utm[0]}&utm_medium={utm[1]}&utm_campaign={utm[2]}"
                 if utm else "")
        moment = start
        events: list[tuple[str, datetime, str, dict[str, str | int] | None]] = [
            ("session_start", moment, landing + query, None),
            ("page_view", moment, landing + query, None)]
        for _ in range(rng.randint(0, 3)):
            moment += timedelta(seconds=rng.randint(10, 120))
            events.append(("page_view", moment, rng.choice(
                ("/find-a-doctor", "/locations", "/refer-a-patient", "/services")), None))
        lead_id = None
        if last and rng.random() < rates.lead_form_rate * 2.5 and moment < self.end_at:
            moment += timedelta(seconds=rng.randint(10, 60))
            form = rng.choice(("appointment_request", "referral_request"))
            events.append(("form_start", moment, f"/forms/{form}", {"form_name": form}))
            if rng.random() < 0.4:
                moment += timedelta(seconds=rng.randint(30, 240))
                if moment <= self.end_at:
                    source = "ad" if campaign is not None and utm is not None else "web"
                    lead_id = self._lead(moment, source, campaign if source == "ad" else None,
                                         client_id, None)
                    events.append(("generate_lead", moment, f"/forms/{form}/thank-you",
                                   {"form_name": form, "lead_id": lead_id}))
        if rng.random() < rates.click_to_call_rate:
            moment += timedelta(seconds=rng.randint(5, 60))
            events.append(("click_to_call", moment, "/locations", {"link_url": "tel:+15550100"}))
        for name, when, path, extra in events:
            if when > self.end_at:
                continue
            micros = rng.randint(0, 999_999)
            text = ga4.event(name=name, moment=when, micros=micros, user_pseudo_id=client_id,
                             session_id=session_id, page_path=path, utm=utm, first_touch=touch,
                             device=device, city=city, extra=extra)
            self.web.add(f"{when:%Y%m%d}", Spooled((when, micros, name), text,
                                                   f"{client_id}:{name}:{when:%H%M%S}"))


# ----- small draws -----------------------------------------------------------------------
def _months_before(end: date, months: int) -> date:
    month_index = end.year * 12 + end.month - 1 - months + 1
    return date(month_index // 12, month_index % 12 + 1, 1)


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _weighted_index(rng: random.Random, weights: list[float] | tuple[float, ...]) -> int:
    return rng.choices(range(len(weights)), weights=weights)[0]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, count, product = math.exp(-lam), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _lognormal(rng: random.Random, median: float, sigma: float = 0.7) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def _work_time(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(13), UTC) + timedelta(minutes=rng.randint(0, 9 * 60))


def _any_time(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(0), UTC) + timedelta(seconds=rng.randint(0, 86_399))


def _between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    return low + (high - low) * rng.uniform(0.1, 0.9)


def _slot(rng: random.Random, moment: datetime) -> datetime:
    day = moment.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(13), UTC) + timedelta(minutes=15 * rng.randint(0, 31))
