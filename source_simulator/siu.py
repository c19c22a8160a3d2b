"""HL7 v2.5.1 SIU scheduling messages and the FHS/BHS batch envelope around them.

Segment and field positions follow the HL7 v2.5.1 chapter 10 (Scheduling): SCH-1/2
appointment ids, SCH-6 event reason, SCH-7 appointment reason, SCH-8 appointment type,
SCH-9/10 duration, SCH-11 timing (start in component 4), SCH-25 filler status,
SCH-26 placer order number (the referral this appointment fulfils), then TQ1, PID, PV1,
RGS, AIS, AIL and AIP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
