"""HL7 v2.5.1 SIU scheduling messages and the FHS/BHS batch envelope around them.

Segment and field positions follow the HL7 v2.5.1 chapter 10 (Scheduling): SCH-1/2
appointment ids, SCH-6 event reason, SCH-7 appointment reason, SCH-8 appointment type,
SCH-9/10 duration, SCH-11 timing (start in component 4), SCH-25 filler status,
SCH-26 placer order number (the referral this appointment fulfils), then TQ1, PID, PV1,
RGS, AIS, AIL and AIP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from source_simulator import workflow
from source_simulator.draws import (
    appointment_slot,
    between,
    lognormal,
)
from source_simulator.output import (
    HL7_BATCH,
    RecordFile,
    Spooled,
)
from source_simulator.world import (
    Person,
    Practitioner,
)

TRIGGERS = {
    "S12": ("Booked", "New appointment booking"),
    "S13": ("Booked", "Appointment rescheduling"),
    "S14": ("Booked", "Appointment modification"),
    "S15": ("Cancelled", "Appointment cancellation"),
    "S17": ("Deleted", "Appointment deletion"),
    "S26": ("Noshow", "Patient did not show up for appointment"),
}


def hl7_ts(moment: datetime) -> str:
    """Return an HL7 DTM with seconds and a UTC offset."""
    return moment.strftime("%Y%m%d%H%M%S") + "+0000"


@dataclass(frozen=True)
class AppointmentView:
    """What one SIU message says about an appointment at the moment it is sent."""

    appointment_id: str
    referral_id: str
    start: datetime
    minutes: int
    mrn: str
    family: str
    given: str
    birth: str
    sex: str
    street: str
    city: str
    state: str
    zip_code: str
    phone: str
    provider_npi: str
    provider_family: str
    provider_given: str
    location_code: str
    facility: str
    service_code: str
    service_name: str


def message(trigger: str, control_id: str, sent: datetime, appt: AppointmentView) -> str:
    """Return one SIU message, segments joined by carriage returns."""
    status, reason = TRIGGERS.get(trigger, ("Booked", "Other"))
    end = appt.start + timedelta(minutes=appt.minutes)
    sch = [""] * 27
    sch[0] = "SCH"
    sch[1] = f"{appt.appointment_id}^PMS"
    sch[2] = f"{appt.appointment_id}^PMS"
    sch[6] = f"{trigger}^{reason}^HL70276"
    sch[7] = "NEWREF^New patient referral^HL70276"
    sch[8] = "NEW^New patient^HL70277"
    sch[9] = str(appt.minutes)
    sch[10] = "min^minutes^ISO+"
    sch[11] = f"^^{appt.minutes}^{hl7_ts(appt.start)}^{hl7_ts(end)}"
    sch[25] = f"{status}^{status}^HL70278"
    sch[26] = f"{appt.referral_id}^EHR"
    segments = [
        f"MSH|^~\\&|PRACTICEPM|RIVERBEND|REFWH|REFWH|{hl7_ts(sent)}||SIU^{trigger}^SIU_S12|"
        f"{control_id}|P|2.5.1",
        "|".join(sch),
        f"TQ1|1||||||{hl7_ts(appt.start)}|{hl7_ts(end)}",
        f"PID|1||{appt.mrn}^^^RIVERBEND^MR||{appt.family}^{appt.given}||{appt.birth}|"
        f"{appt.sex}|||{appt.street}^^{appt.city}^{appt.state}^{appt.zip_code}||{appt.phone}",
        f"PV1|1|O|{appt.location_code}^^^{appt.facility}",
        "RGS|1|A",
        f"AIS|1|A|{appt.service_code}^{appt.service_name}|{hl7_ts(appt.start)}|||"
        f"{appt.minutes}|min",
        f"AIL|1|A|{appt.location_code}^^^{appt.facility}|||{hl7_ts(appt.start)}",
        f"AIP|1|A|{appt.provider_npi}^{appt.provider_family}^{appt.provider_given}^^^^^^NPI|"
        f"MD^Physician|{hl7_ts(appt.start)}",
    ]
    return "\r".join(segments)


def batch_header(day: str, sent: datetime) -> str:
    """Return the FHS and BHS segments that open a daily batch file."""
    stamp = hl7_ts(sent)
    return (f"FHS|^~\\&|PRACTICEPM|RIVERBEND|REFWH|REFWH|{stamp}||siu_{day}.hl7\r"
            f"BHS|^~\\&|PRACTICEPM|RIVERBEND|REFWH|REFWH|{stamp}||SIU batch {day}")


def batch_trailer(count: int) -> str:
    """Return the BTS and FTS segments that close a batch file."""
    return f"BTS|{count}\rFTS|1"


class SchedulingSystem:
    """Scheduling's part of the simulation: bookings, reschedules, cancellations, no-shows.

    A part of `Simulation` (source_simulator/simulation.py), whose state it shares.
    """

    def _siu_file(self, day: str) -> RecordFile:
        sent = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC) + timedelta(days=1)
        return self.record_file(f"scheduling/siu_{day}.hl7", "scheduling", "siu_messages",
                                HL7_BATCH, header=batch_header(day, sent),
                                trailer=batch_trailer)

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
            booked = moment + timedelta(days=lognormal(rng, rates.median_days_to_book))
            wait = timedelta(days=lognormal(rng, rates.median_days_to_slot))
            slot = appointment_slot(rng, booked + wait)
            appt = self._appointment(referral_id, person, doctor, slot)
            self._siu("S12", booked, appt)
            if self._defect(self.defects.orphan_appointment):
                self._orphan(booked, doctor)
            if rng.random() < rates.delete_rate:
                self._siu("S17", booked + timedelta(minutes=20), appt)
                moment = booked + timedelta(minutes=30)
                continue
            if rng.random() < rates.modify_rate:
                self._siu("S14", between(rng, booked, slot), appt)
            if rng.random() < rates.reschedule_rate:
                moved = between(rng, booked, slot)
                slot = appointment_slot(rng, slot + timedelta(days=rng.randint(3, 20)))
                appt = self._appointment(referral_id, person, doctor, slot, appt.appointment_id)
                self._siu("S13", moved, appt)
            if rng.random() < rates.cancel_rate:
                cancelled = between(rng, booked, slot)
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

    # ----- scheduling --------------------------------------------------------------------
    def _appointment(self, referral_id: str, person: Person, doctor: Practitioner,
                     slot: datetime, appointment_id: str | None = None) -> AppointmentView:
        assert doctor.specialty is not None and doctor.location is not None
        appointment_id = appointment_id or f"APT{self._next('appointment'):08d}"
        self._booking_referral[appointment_id] = (referral_id, person, doctor)
        return AppointmentView(
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

    def _siu(self, trigger: str, sent: datetime, appt: AppointmentView,
             defects: tuple[str, ...] = (), control_id: str | None = None) -> None:
        if sent > self.end_at:
            return
        referral_id = self._booking_referral[appt.appointment_id][0]
        if not defects:
            self._bookings.setdefault(appt.appointment_id, []).append((trigger, sent, appt))
        if referral_id in self._fhir_scheduled and not defects:
            return  # this clinic's bookings reach the warehouse as FHIR Appointments only
        control_id = control_id or f"MSG{self._next('message'):09d}"
        text = message(trigger, control_id, sent, appt)
        self.siu.add(f"{sent:%Y%m%d}", Spooled((sent, control_id), text, control_id, defects))

    def _orphan(self, booked: datetime, doctor: Practitioner) -> None:
        """Book an appointment whose referral the EHR never sent: the orphan defect.

        It draws only from the defect stream, so the rest of the world stays the same.
        """
        person = self._recent_people[-1]
        unknown = f"REF-9{self.defect_rng.randint(0, 999_999):06d}"
        slot = appointment_slot(self.defect_rng, booked + timedelta(days=14))
        appt = self._appointment(unknown, person, doctor, slot, f"APT9{unknown[5:]}")
        self._siu("S12", booked + timedelta(minutes=5), appt, ("orphan_appointment",),
                  control_id=f"MSG9{unknown[5:]}")
