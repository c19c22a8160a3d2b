"""What real referral feeds carry beside the ServiceRequest, as the standards shape it.

Referral standards keep a referral's workflow on Task (360X, BaRS, SDOH-CC, Da Vinci), book
it as FHIR Appointments as well as HL7 SIU, give it national numbers (the e-RS UBRN), name a
patient by identifier only, and mix referrals with orders that are not referrals (US Core lab
orders, Da Vinci CRD drafts). The simulator writes a share of each so that `make run` meets
every path; `StandardsRates` holds the shares and `ground_truth.jsonl` says what each should
become (docs/generator.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from source_simulator.fhir import MRN_SYSTEM, SNOMED, instant

UBRN_SYSTEM = "https://fhir.nhs.uk/Id/UBRN"
LOINC = "http://loinc.org"
TASK_CODE_SYSTEM = "http://hl7.org/fhir/CodeSystem/task-code"
# SIU events as FHIR Appointment statuses (R4 AppointmentStatus).
APPOINTMENT_STATUS = {"S12": "booked", "S13": "booked", "S14": "booked", "S15": "cancelled",
                      "S17": "cancelled", "S26": "noshow"}
LAB_ORDERS = (("58410-2", "CBC panel - Blood by Automated count"),
              ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
              ("24331-1", "Lipid panel - Serum or Plasma"))


@dataclass(frozen=True)
class StandardsRates:
    """Shares of the world written the way the referral standards do (their own stream)."""

    # Referrals whose workflow a Task carries (360X and BaRS senders; most US EHRs do not).
    task_share: float = 0.30
    # Of those never booked nor withdrawn, the share the receiving service rejects.
    rejected_share: float = 0.25
    # Bookings the EHR also exports as FHIR Appointments (the same booking SIU reports).
    appointment_copy_share: float = 0.20
    # Referrals booked in a clinic whose scheduling the EHR holds: FHIR Appointment only.
    fhir_scheduled_share: float = 0.08
    # Physician referrals numbered by the e-Referral Service (UBRN) instead of our OID.
    ubrn_share: float = 0.10
    # Referrals that name their patient by MRN identifier only.
    identifier_only_subject_share: float = 0.10
    # Lab orders a referring clinician places beside a referral; drafts never sent.
    lab_order_share: float = 0.15
    draft_share: float = 0.03

    @classmethod
    def none(cls) -> StandardsRates:
        """A world written the simple way only (the plain benchmark script reads no more)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def ubrn(referral_id: str) -> str:
    """Return a 12-digit UBRN-style number for a referral."""
    return f"{int(referral_id.split('-')[1]) + 100_000_000_000:012d}"


def task(*, task_id: str, referral_id: str, patient_id: str, status: str, authored: datetime,
         modified: datetime, version: int, owner_org_id: str,
         requester_id: str | None) -> dict[str, Any]:
    """Return a fulfilment Task (360X, BaRS) whose focus is the referral."""
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": task_id,
        "meta": {"versionId": str(version), "lastUpdated": instant(modified)},
        "status": status, "intent": "order",
        "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{referral_id.lower()}"},
        "for": {"reference": f"Patient/{patient_id}"},
        "authoredOn": instant(authored), "lastModified": instant(modified),
        "owner": {"reference": f"Organization/{owner_org_id}"},
    }
    if requester_id is not None:
        resource["requester"] = {"reference": f"Practitioner/{requester_id}"}
    if status == "rejected":
        resource["statusReason"] = {"coding": [{"code": "no-capacity"}]}
    return resource


def appointment(*, appointment_id: str, referral_id: str, patient_id: str, status: str,
                start: datetime, minutes: int, updated: datetime, created: datetime,
                version: int, practitioner_id: str, location_id: str) -> dict[str, Any]:
    """Return a FHIR Appointment for a referral's booking."""
    return {
        "resourceType": "Appointment", "id": appointment_id.lower(),
        "meta": {"versionId": str(version), "lastUpdated": instant(updated)},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.7418.4.1",
                        "value": appointment_id}],
        "status": status, "start": instant(start),
        "end": instant(start + timedelta(minutes=minutes)),
        "created": instant(created),
        "basedOn": [{"reference": f"ServiceRequest/{referral_id.lower()}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{practitioner_id}"}, "status": "accepted"},
            {"actor": {"reference": f"Location/{location_id}"}, "status": "accepted"}],
    }


def lab_order(*, order_id: str, patient_id: str, requester_id: str, authored: datetime,
              code: tuple[str, str]) -> dict[str, Any]:
    """Return a US Core laboratory ServiceRequest: an order, not a referral."""
    return {
        "resourceType": "ServiceRequest", "id": order_id.lower(),
        "meta": {"versionId": "1", "lastUpdated": instant(authored)},
        "status": "active", "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "108252007",
                                  "display": "Laboratory procedure"}]}],
        "code": {"coding": [{"system": LOINC, "code": code[0], "display": code[1]}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": instant(authored),
        "requester": {"reference": f"Practitioner/{requester_id}"},
    }


def identifier_only_subject(resource: dict[str, Any], mrn: str) -> None:
    """Name the referral's patient by MRN identifier only, as some senders do."""
    resource["subject"] = {"identifier": {"system": MRN_SYSTEM, "value": mrn}}


def as_ubrn(resource: dict[str, Any], number: str) -> None:
    """Number the referral with an e-RS UBRN instead of the EHR's own identifier."""
    resource["identifier"] = [{"system": UBRN_SYSTEM, "value": number}]


def as_draft(resource: dict[str, Any]) -> None:
    """Make a referral a draft that was never sent (Da Vinci CRD's order-select stage)."""
    resource["status"] = "draft"
    resource["intent"] = "original-order"
