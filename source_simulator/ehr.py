"""The EHR: the Simulation's part that writes FHIR R4 bulk exports (resources: fhir.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from source_simulator import fhir, workflow
from source_simulator.draws import (
    lognormal,
    poisson,
    weekday_factor,
    weighted_index,
    work_time,
)
from source_simulator.npi import break_npi
from source_simulator.output import (
    NDJSON,
    RecordFile,
)
from source_simulator.world import (
    PAYERS,
    SPECIALTIES,
    Organization,
    Person,
    Practitioner,
    Specialty,
)

if TYPE_CHECKING:
    from source_simulator.simulation import Simulation

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


SPECIALTY_MIX = (0.28, 0.25, 0.20, 0.15, 0.12)


INVALID_STATUSES = ("pending", "closed", "ACTIVE", "in-progress")


PAYER_FACTOR = {"1": 0.8, "2": 0.6, "5": 1.1, "81": 0.7}


class EhrSystem:
    """The EHR's part of the simulation: patients, referrals, Tasks, orders, visits.

    A part of `Simulation` (source_simulator/simulation.py), whose state it shares.
    """

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
                npi, defects = break_npi(doc.npi), ("invalid_npi",)
            self._emit(fhir.practitioner(doc, npi, updated), updated, defects)
            self._emit(fhir.practitioner_role(doc, updated), updated)

    # ----- people ------------------------------------------------------------------------
    def _person(self) -> Person:
        rng, world = self.rng, self.world
        if self._recent_people and rng.random() < self.rates.existing_patient_share:
            return rng.choice(self._recent_people)
        number = self._next("patient")
        age = int(rng.triangular(18, 92, 64))
        city, state, zip_code = rng.choice(world.cities)
        payer_index = weighted_index(rng, [p[4] for p in PAYERS])
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
        factor = weekday_factor(day) * self.scale
        for _ in range(poisson(rng, rates.community_referrals_per_weekday * factor)):
            doc = rng.choices(world.community_referrers, cum_weights=self._community_cum)[0]
            if doc.refers_on(day):
                self._referral(work_time(rng, day), doc, self._specialty(), "physician")
        for _ in range(poisson(rng, rates.network_pcp_referrals_per_weekday * factor)):
            doc = rng.choices(world.network_pcps, cum_weights=self._pcp_cum)[0]
            self._referral(work_time(rng, day), doc, self._specialty(), "physician")

    def _specialty(self) -> Specialty:
        return SPECIALTIES[weighted_index(self.rng, SPECIALTY_MIX)]

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
            lag = lognormal(rng, self.rates.median_days_to_consult_note)
            if rng.random() < 0.12:
                lag *= 8  # the notes that come back weeks late
            sent = end + timedelta(days=lag)
            self._emit(fhir.consult_note(communication_id=f"com-{number:07d}",
                                         referral_id=referral_id, patient_id=person.patient_id,
                                         sender=doctor, recipient=requester,
                                         encounter_id=encounter_id, sent=sent), sent)
        return [(end, "completed")]
