"""FHIR R4 resources as an EHR's bulk `$export` writes them, one dict per resource.

Shapes follow the R4 resource definitions; codes come from the systems a US EHR uses
(NPI, NUCC taxonomy, SNOMED CT, LOINC, HL7 v3 ActCode, PHDSC payer typology).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from source_simulator.world import Location, Organization, Practitioner, Specialty

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.7418.1.1"
REFERRAL_ID_SYSTEM = "urn:oid:2.16.840.1.113883.3.7418.2.1"
EXT_BASE = "https://referral-warehouse.dev/fhir/StructureDefinition"
REFERRAL_SOURCE_EXT = f"{EXT_BASE}/referral-source"
NETWORK_STATUS_EXT = f"{EXT_BASE}/network-status"
REFERRAL_SOURCE_SYSTEM = "https://referral-warehouse.dev/fhir/CodeSystem/referral-source"


def instant(moment: datetime) -> str:
    """Return a FHIR instant in UTC with a Z suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(updated: datetime) -> dict[str, Any]:
    return {"versionId": "1", "lastUpdated": instant(updated)}


def _npi(npi: str) -> dict[str, str]:
    return {"system": NPI_SYSTEM, "value": npi}


def organization(org: Organization, updated: datetime) -> dict[str, Any]:
    """Return an Organization, marked in or out of network by an extension."""
    resource: dict[str, Any] = {
        "resourceType": "Organization", "id": org.org_id, "meta": _meta(updated),
        "extension": [{"url": NETWORK_STATUS_EXT,
                       "valueCode": "in-network" if org.in_network else "out-of-network"}],
        "identifier": [_npi(org.npi)], "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                              "code": "ins" if org.kind == "payer" else "prov"}]}],
        "name": org.name,
        "telecom": [{"system": "phone", "value": org.phone, "use": "work"}],
        "address": [{"city": org.city, "state": org.state, "postalCode": org.zip_code,
                     "country": "US"}],
    }
    return resource


def location(loc: Location, updated: datetime) -> dict[str, Any]:
    """Return a Location: a clinic site where appointments are held."""
    return {
        "resourceType": "Location", "id": loc.location_id, "meta": _meta(updated),
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.7418.3.1", "value": loc.code}],
        "status": "active", "name": loc.name, "mode": "instance",
        "managingOrganization": {"reference": f"Organization/{loc.organization.org_id}"},
    }


def practitioner(doc: Practitioner, npi: str, updated: datetime) -> dict[str, Any]:
    """Return a Practitioner identified by NPI."""
    return {
        "resourceType": "Practitioner", "id": doc.practitioner_id, "meta": _meta(updated),
        "identifier": [_npi(npi)], "active": True,
        "name": [{"use": "official", "family": doc.family, "given": [doc.given],
                  "prefix": ["Dr."]}],
        "qualification": [{"code": {"coding": [{
            "system": NUCC_SYSTEM, "code": doc.taxonomy_code,
            "display": doc.taxonomy_display}]}}],
    }


def practitioner_role(doc: Practitioner, updated: datetime) -> dict[str, Any]:
    """Return the PractitionerRole tying a clinician to an organization and specialty."""
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole", "id": doc.role_id, "meta": _meta(updated),
        "active": True,
        "practitioner": {"reference": f"Practitioner/{doc.practitioner_id}"},
        "organization": {"reference": f"Organization/{doc.organization.org_id}"},
        "specialty": [{"coding": [{"system": NUCC_SYSTEM, "code": doc.taxonomy_code,
                                   "display": doc.taxonomy_display}]}],
    }
    if doc.location is not None:
        role["location"] = [{"reference": f"Location/{doc.location.location_id}"}]
    return role


def patient(patient_id: str, mrn: str, given: str, family: str, gender: str, birth: date,
            street: str, city: str, state: str, zip_code: str, phone: str,
            updated: datetime) -> dict[str, Any]:
    """Return a Patient with the direct identifiers a real EHR export carries."""
    return {
        "resourceType": "Patient", "id": patient_id, "meta": _meta(updated),
        "identifier": [{"use": "usual", "type": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": MRN_SYSTEM, "value": mrn}],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "gender": gender, "birthDate": birth.isoformat(),
        "address": [{"use": "home", "line": [street], "city": city, "state": state,
                     "postalCode": zip_code, "country": "US"}],
    }


def coverage(coverage_id: str, patient_id: str, payer: Organization, class_code: str,
             class_display: str, updated: datetime) -> dict[str, Any]:
    """Return a Coverage whose type carries the PHDSC payer class."""
    return {
        "resourceType": "Coverage", "id": coverage_id, "meta": _meta(updated),
        "status": "active",
        "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5",
                             "code": class_code, "display": class_display}]},
        "beneficiary": {"reference": f"Patient/{patient_id}"},
        "payor": [{"reference": f"Organization/{payer.org_id}", "display": payer.name}],
    }


def service_request(*, referral_id: str, status: str, priority: str, authored: datetime,
                    updated: datetime, version: int, patient_id: str,
                    requester: Practitioner | None,
                    performer: Practitioner | None, performer_org: Organization,
                    location: Location | None, specialty: Specialty,
                    source_channel: str | None, coverage_id: str) -> dict[str, Any]:
    """Return the referral: a ServiceRequest with category 'Patient referral'."""
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": referral_id.lower(),
        "meta": {"versionId": str(version), "lastUpdated": instant(updated)},
    }
    if source_channel is not None:
        resource["extension"] = [{"url": REFERRAL_SOURCE_EXT, "valueCoding": {
            "system": REFERRAL_SOURCE_SYSTEM, "code": source_channel}}]
    performers = [{"reference": f"Organization/{performer_org.org_id}",
                   "display": performer_org.name}]
    if performer is not None:
        performers.insert(0, {"reference": f"Practitioner/{performer.practitioner_id}",
                              "display": performer.display})
    resource.update({
        "identifier": [{"system": REFERRAL_ID_SYSTEM, "value": referral_id}],
        "status": status, "intent": "order",
        "category": [{"coding": [{"system": SNOMED, "code": "3457005",
                                  "display": "Patient referral"}]}],
        "priority": priority,
        "code": {"coding": [{"system": SNOMED, "code": "306206005",
                             "display": "Referral to service"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": instant(authored),
    })
    # A self-referral has no referring clinician: requester is optional (0..1) in R4.
    if requester is not None:
        resource["requester"] = {"reference": f"Practitioner/{requester.practitioner_id}",
                                 "display": requester.display}
    resource.update({
        "performerType": {"coding": [{"system": NUCC_SYSTEM, "code": specialty.code,
                                      "display": specialty.display}]},
        "performer": performers,
        "reasonCode": [{"coding": [{"system": SNOMED, "code": specialty.reason_code,
                                    "display": specialty.reason_display}]}],
        "insurance": [{"reference": f"Coverage/{coverage_id}"}],
    })
    if location is not None:
        resource["locationReference"] = [{"reference": f"Location/{location.location_id}"}]
    return resource


def encounter(*, encounter_id: str, status: str, referral_id: str, patient_id: str,
              doctor: Practitioner, start: datetime, end: datetime) -> dict[str, Any]:
    """Return an ambulatory Encounter based on the referral."""
    assert doctor.location is not None
    return {
        "resourceType": "Encounter", "id": encounter_id, "meta": _meta(end),
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                  "code": "AMB", "display": "ambulatory"},
        "type": [{"coding": [{"system": SNOMED, "code": "11429006",
                              "display": "Consultation"}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "basedOn": [{"reference": f"ServiceRequest/{referral_id.lower()}"}],
        "participant": [{"individual": {"reference": f"Practitioner/{doctor.practitioner_id}"}}],
        "period": {"start": instant(start), "end": instant(end)},
        "location": [{"location": {"reference": f"Location/{doctor.location.location_id}"}}],
        "serviceProvider": {"reference": f"Organization/{doctor.organization.org_id}"},
    }


def claim(*, claim_id: str, encounter_id: str, patient_id: str, doctor: Practitioner,
          coverage_id: str, created: datetime, total: float, cpt: str) -> dict[str, Any]:
    """Return a professional Claim for the visit, with its billed total."""
    return {
        "resourceType": "Claim", "id": claim_id, "meta": _meta(created),
        "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                             "code": "professional"}]},
        "use": "claim",
        "patient": {"reference": f"Patient/{patient_id}"},
        "created": instant(created),
        "provider": {"reference": f"Practitioner/{doctor.practitioner_id}"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True,
                       "coverage": {"reference": f"Coverage/{coverage_id}"}}],
        "item": [{"sequence": 1,
                  "productOrService": {"coding": [{"system": "http://www.ama-assn.org/go/cpt",
                                                   "code": cpt}]},
                  "encounter": [{"reference": f"Encounter/{encounter_id}"}],
                  "net": {"value": total, "currency": "USD"}}],
        "total": {"value": total, "currency": "USD"},
    }


def consult_note(*, communication_id: str, referral_id: str, patient_id: str,
                 sender: Practitioner, recipient: Practitioner, encounter_id: str,
                 sent: datetime) -> dict[str, Any]:
    """Return the Communication that sends the consult note back to the referrer."""
    return {
        "resourceType": "Communication", "id": communication_id, "meta": _meta(sent),
        "basedOn": [{"reference": f"ServiceRequest/{referral_id.lower()}"}],
        "status": "completed",
        "category": [{"coding": [{"system": LOINC, "code": "11488-4",
                                  "display": "Consult note"}]}],
        "subject": {"reference": f"Patient/{patient_id}"},
        "encounter": {"reference": f"Encounter/{encounter_id}"},
        "sent": instant(sent),
        "recipient": [{"reference": f"Practitioner/{recipient.practitioner_id}"}],
        "sender": {"reference": f"Practitioner/{sender.practitioner_id}"},
        "payload": [{"contentReference": {"display": "Consultation note"}}],
    }
