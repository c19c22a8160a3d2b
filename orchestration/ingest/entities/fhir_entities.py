"""The EHR's FHIR R4 bulk export: manifest discovery and per-resource column declarations.

A bulk `$export` delivers one folder per export with a `manifest.json` listing NDJSON files
per resource type. Each resource type is one entity; its columns are JSON-path expressions
over the resource (`doc`), evaluated by DuckDB. References to the Patient are reduced to the
id and pseudonymized; everything else a Patient carries that identifies a person is dropped.
"""

from __future__ import annotations

from orchestration.ingest.entities.entity_spec import FHIR_NDJSON, Column, DriftPolicy, EntitySpec
from orchestration.ingest.entities.safe_harbor import aged_90_or_older, birth_year, zip3
from orchestration.ingest.entities.site_config import identifier_systems
from orchestration.ingest.pseudonymize import FHIR_PATIENT_ID, MRN, PATIENT_IDENTIFIER

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
EXT_BASE = "https://referral-warehouse.dev/fhir/StructureDefinition"


def text(path: str) -> str:
    """Return the expression for a scalar at a JSON path of the resource."""
    return f"doc->>'$.{path}'"


def json_part(path: str) -> str:
    """Return the expression for a JSON sub-document (kept as JSON text for staging)."""
    return f"json(doc->'$.{path}')"


# A literal reference, relative (`Type/id`), absolute (`https://.../Type/id`) or versioned
# (`Type/id/_history/2`): group 2 is the type, group 3 the id.
LITERAL = "(^|/)({types})/([A-Za-z0-9.-]{{1,64}})(/_history/[^/]+)?$"
UUID_URN = "^urn:uuid:([0-9A-Fa-f-]{36})$"


def ref_id(path: str, resource_type: str) -> str:
    """Return the id a reference of one resource type points at, or NULL for other types.

    Relative, absolute and versioned references give the id after the type; a `urn:uuid:`
    reference (bulk exports and bundles use them) gives the uuid, which is the referenced
    resource's id in a bulk export.
    """
    reference = f"doc->>'$.{path}'"
    pattern = LITERAL.format(types=resource_type)
    return (f"coalesce(nullif(regexp_extract({reference}, '{pattern}', 3), ''), "
            f"nullif(regexp_extract({reference}, '{UUID_URN}', 1), ''))")


def reference_key(path: str, types: tuple[str, ...]) -> str:
    """Return one canonical key for a reference to a practitioner, role, organization, place.

    Every shape FHIR R4 allows becomes a key that dbt resolves against the referenced
    resources (int_fhir_reference_targets):
    - literal (relative, absolute, versioned): `Type/id`;
    - `urn:uuid:<uuid>`: itself (the target's id is the uuid);
    - conditional `Type?identifier=system|value`: `Type?system|value`;
    - logical (an `identifier` without `reference`): `Type?system|value` (`?system|value`
      when the reference does not say its type);
    - contained `#id`: `Type?system|value` of the contained resource's NPI, else its first
      identifier; `#` alone when it has none (unresolvable, and reported as such);
    - a Patient: `Patient` alone: a self-referral carries no patient identifier here.
    """
    reference = f"doc->>'$.{path}.reference'"
    alternatives = "|".join(types)
    literal = LITERAL.format(types=alternatives)
    contained = (f"list_filter(try_cast(doc->'$.contained' as json[]), "
                 f"lambda c: '#' || (c->>'id') = {reference})[1]")
    contained_identifier = (
        f"coalesce(list_filter(try_cast({contained}->'identifier' as json[]), "
        f"lambda i: i->>'system' = '{NPI_SYSTEM}')[1], "
        f"try_cast({contained}->'identifier' as json[])[1])")
    return f"""case
        when {reference} = 'Patient' or regexp_matches({reference}, '(^|/)Patient/')
            or doc->>'$.{path}.type' = 'Patient' then 'Patient'
        when regexp_matches({reference}, '{literal}')
            then regexp_extract({reference}, '{literal}', 2) || '/'
                || regexp_extract({reference}, '{literal}', 3)
        when regexp_matches({reference}, '{UUID_URN}') then {reference}
        when regexp_matches({reference}, '^({alternatives})\\?identifier=')
            then regexp_extract({reference}, '^([A-Za-z]+)\\?', 1) || '?'
                || url_decode(regexp_extract({reference}, 'identifier=([^&]*)', 1))
        when starts_with({reference}, '#') then coalesce(
            ({contained}->>'resourceType') || '?' || ({contained_identifier}->>'system')
                || '|' || ({contained_identifier}->>'value'), '#')
        when {reference} is null and doc->>'$.{path}.identifier.value' is not null
            then coalesce(doc->>'$.{path}.type', '') || '?'
                || coalesce(doc->>'$.{path}.identifier.system', '') || '|'
                || (doc->>'$.{path}.identifier.value')
        when {reference} is not null then 'unrecognized'
    end"""


def identifier_key() -> str:
    """Return `system|value` of a resource's first identifier (conditional references use it)."""
    return ("(doc->>'$.identifier[0].system') || '|' || (doc->>'$.identifier[0].value')")


def identifier(system: str, array: str = "identifier") -> str:
    """Return the value of the first identifier with a given system."""
    return (f"list_filter(try_cast(doc->'$.{array}' as json[]), "
            f"lambda i: i->>'system' = '{system}')[1]->>'value'")


def identifier_of_type(code: str) -> str:
    """Return the value of the first identifier whose type has the v2-0203 code given."""
    return ("list_filter(try_cast(doc->'$.identifier' as json[]), "
            f"lambda i: i->>'$.type.coding[0].code' = '{code}')[1]->>'value'")


def identifier_of_kind(kind: str, array: str = "identifier", *, with_system: bool = False) -> str:
    """Return the first identifier whose system is one of the site's systems of a kind.

    Systems are tried in the priority order of seeds/identifier_systems.csv; ``with_system``
    gives `system|value` (the shape a logical reference's key takes), else the value alone.
    """
    values = [f"'{system}|' || ({identifier(system, array)})" if with_system
              else identifier(system, array) for system in identifier_systems(kind)]
    return f"coalesce({', '.join(values)})"


def identifier_system_of_kind(kind: str) -> str:
    """Return the system of the identifier `identifier_of_kind` picks."""
    systems = identifier_systems(kind)
    cases = " ".join(f"when ({identifier(system)}) is not null then '{system}'"
                     for system in systems)
    return f"case {cases} end"


def reference_identifier(path: str, kind: str) -> str:
    """Return `system|value` of a reference made by identifier alone, for a site's system.

    A Patient named by `subject.identifier` (an NHS number, an MRN) and no literal reference
    is joined to the Patient that carries the same identifier (int_service_requests_resolved).
    """
    system = f"doc->>'$.{path}.identifier.system'"
    listed = ", ".join(f"'{s}'" for s in identifier_systems(kind))
    return (f"case when {system} in ({listed}) then {system} || '|' || "
            f"(doc->>'$.{path}.identifier.value') end")


def coding_tokens(path: str, *, repeated: bool = False) -> str:
    """Return every coding of a CodeableConcept (or of a list of them) as ` system|code `.

    The referral definition (seeds/service_request_kind_rules.csv) matches a rule's
    `system|code` against any coding, not only the first: US Core and BaRS put the referral
    category beside other codings.
    """
    if repeated:
        codings = (f"flatten(list_transform(try_cast(doc->'$.{path}' as json[]), "
                   "lambda c: coalesce(try_cast(c->'coding' as json[]), []::json[])))")
    else:
        codings = f"try_cast(doc->'$.{path}.coding' as json[])"
    token = "lambda x: coalesce(x->>'system', '') || '|' || coalesce(x->>'code', '')"
    return f"' ' || array_to_string(list_transform({codings}, {token}), ' ') || ' '"


def participant_reference(types: tuple[str, ...]) -> str:
    """Return `Type/id` of an Appointment's first participant whose actor is of these types."""
    alternatives = "|".join(types)
    literal = LITERAL.format(types=alternatives)
    actor = (f"list_filter(try_cast(doc->'$.participant' as json[]), lambda p: "
             f"regexp_matches(p->>'$.actor.reference', '{literal}'))[1]->>'$.actor.reference'")
    return (f"regexp_extract({actor}, '{literal}', 2) || '/' || "
            f"regexp_extract({actor}, '{literal}', 3)")


def participant_patient_id() -> str:
    """Return the id of the Patient an Appointment's participants name (literal reference)."""
    literal = LITERAL.format(types="Patient")
    actor = (f"list_filter(try_cast(doc->'$.participant' as json[]), lambda p: "
             f"regexp_matches(p->>'$.actor.reference', '{literal}'))[1]->>'$.actor.reference'")
    return f"nullif(regexp_extract({actor}, '{literal}', 3), '')"


def extension(url: str, value_path: str) -> str:
    """Return a value of the first extension with the given url."""
    return (f"list_filter(try_cast(doc->'$.extension' as json[]), "
            f"lambda e: e->>'url' = '{url}')[1]->>'$.{value_path}'")


PATIENT_KEY = "patient_key"


def patient_key(reference: str) -> Column:
    """The keyed hash of the FHIR Patient id a reference names: joins to the Patient's own."""
    return Column(PATIENT_KEY, reference, pseudonymize=FHIR_PATIENT_ID)
PRACTITIONER = ("Practitioner", "PractitionerRole")
ORGANIZATION = ("Organization",)
LOCATION = ("Location",)
REQUESTER = ("Practitioner", "PractitionerRole", "Organization")
PERFORMER = ("Practitioner", "PractitionerRole", "Organization", "HealthcareService")
OWNER = PERFORMER


def _common(resource: str) -> tuple[Column, ...]:
    if resource == "patient":
        # The Patient's own id is an identifier of the person: only its keyed hash is kept.
        key = Column(PATIENT_KEY, text("id"), required=True, pseudonymize=FHIR_PATIENT_ID,
                     description="Keyed hash of the Patient id; joins to every patient_key.")
    else:
        key = Column(f"{resource}_id", text("id"), required=True,
                     description=f"The {resource.replace('_', ' ')}'s logical FHIR id.")
    return (
        key,
        Column("version_id", text("meta.versionId")),
        Column("last_updated_at", text("meta.lastUpdated"), "TIMESTAMPTZ",
               description="meta.lastUpdated: when the EHR last changed the resource."),
    )


# FHIR resources are open (optional elements, extensions): the reader reads the declared
# paths only, so an undeclared element is never read, never loaded (discard_value, untraced).
# A declared element of another JSON type quarantines its record.
FHIR_DRIFT = DriftPolicy(columns="discard_value", data_type="discard_row")


def _spec(resource_type: str, name: str, description: str, *columns: Column) -> EntitySpec:
    return EntitySpec(source="ehr", name=name, description=description,
                      columns=(*_common(name), *columns), file_format=FHIR_NDJSON,
                      folder="ehr", pattern="manifest.json", resource_type=resource_type,
                      drift=FHIR_DRIFT)



FHIR_ENTITIES: tuple[EntitySpec, ...] = (
    _spec("Patient", "patient", "Patients, pseudonymized: keyed hashes of the FHIR id and "
          "MRN, sex, birth year and 3-digit ZIP only.",
          Column("mrn_key", identifier_of_type("MR"), pseudonymize=MRN,
                 description="Keyed hash of the MRN; joins to scheduling's patient_mrn_key."),
          Column("patient_identifier_key", identifier_of_kind("patient", with_system=True),
                 pseudonymize=PATIENT_IDENTIFIER,
                 description="Keyed hash of system|value of the patient's first identifier of "
                             "the site's patient systems (references by identifier join it)."),
          Column("gender", text("gender")),
          Column("birth_year", birth_year("doc->>'$.birthDate'"), "INTEGER",
                 description="Year of birth; null for the 90 or older (Safe Harbor)."),
          Column("is_aged_90_or_older", aged_90_or_older("doc->>'$.birthDate'"), "BOOLEAN",
                 description="Safe Harbor's one category for ages over 89."),
          Column("postal_code_3", zip3("doc->>'$.address[0].postalCode'"),
                 description="First 3 digits of the ZIP code; 000 for the restricted areas "
                             "(seeds/restricted_zip3.csv)."),
          Column("state", text("address[0].state")),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("Practitioner", "practitioner", "Clinicians with their NPI and primary taxonomy.",
          Column("npi", identifier(NPI_SYSTEM)),
          Column("identifier_key", identifier_key(),
                 description="system|value of the first identifier (conditional references)."),
          Column("national_identifier_key",
                 identifier_of_kind("practitioner", with_system=True),
                 description="system|value of the practitioner's national id (NPI, SDS user "
                             "id: seeds/identifier_systems.csv)."),
          Column("family_name", text("name[0].family")),
          Column("given_name", text("name[0].given[0]")),
          Column("taxonomy_code", text("qualification[0].code.coding[0].code")),
          Column("taxonomy_display", text("qualification[0].code.coding[0].display")),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("PractitionerRole", "practitioner_role",
          "Which organization and location a practitioner works for, in which specialty.",
          Column("identifier_key", identifier_key()),
          Column("practitioner_reference", reference_key("practitioner", PRACTITIONER)),
          Column("organization_reference", reference_key("organization", ORGANIZATION)),
          Column("location_reference", reference_key("location[0]", LOCATION)),
          Column("specialty_code", text("specialty[0].coding[0].code")),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("Organization", "organization",
          "The network, its clinics, outside specialty groups, referring practices, payers.",
          Column("name", text("name")),
          Column("npi", identifier(NPI_SYSTEM)),
          Column("identifier_key", identifier_key()),
          Column("national_identifier_key",
                 identifier_of_kind("organization", with_system=True),
                 description="system|value of the organization's national id (NPI, ODS code, "
                             "tax id: seeds/identifier_systems.csv)."),
          Column("network_status", extension(f"{EXT_BASE}/network-status", "valueCode")),
          Column("type_code", text("type[0].coding[0].code")),
          Column("part_of_organization_id", ref_id("partOf.reference", "Organization")),
          Column("city", text("address[0].city")),
          Column("state", text("address[0].state")),
          Column("postal_code", text("address[0].postalCode")),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("Location", "location", "Clinic sites where appointments are held.",
          Column("location_code", text("identifier[0].value")),
          Column("identifier_key", identifier_key()),
          Column("name", text("name")),
          Column("status", text("status")),
          Column("managing_organization_id",
                 ref_id("managingOrganization.reference", "Organization"))),
    _spec("Coverage", "coverage", "Insurance coverage with its payer class (PHDSC typology).",
          patient_key(ref_id("beneficiary.reference", "Patient")),
          Column("status", text("status")),
          Column("payer_class_code", text("type.coding[0].code")),
          Column("payer_class_display", text("type.coding[0].display")),
          Column("payer_organization_id", ref_id("payor[0].reference", "Organization")),
          Column("payer_name", text("payor[0].display"))),
    _spec("ServiceRequest", "service_request",
          "Service requests (referrals and other orders): one row per delivered version.",
          Column("referral_number", identifier_of_kind("referral_number"),
                 description="The first identifier of the site's referral-number systems "
                             "(seeds/identifier_systems.csv: the EHR's own, an e-RS UBRN)."),
          Column("referral_number_system", identifier_system_of_kind("referral_number")),
          Column("status", text("status")),
          Column("intent", text("intent")),
          Column("priority", text("priority")),
          Column("is_do_not_perform", text("doNotPerform"), "BOOLEAN"),
          Column("category_code", text("category[0].coding[0].code")),
          Column("category_tokens", coding_tokens("category", repeated=True),
                 description="Every category coding as ` system|code ` (the referral "
                             "definition matches any of them)."),
          Column("code_tokens", coding_tokens("code")),
          Column("performer_type_tokens", coding_tokens("performerType")),
          Column("authored_at", text("authoredOn"), "TIMESTAMPTZ"),
          patient_key(ref_id("subject.reference", "Patient")),
          Column("patient_identifier_key", reference_identifier("subject", "patient"),
                 pseudonymize=PATIENT_IDENTIFIER,
                 description="Keyed hash of system|value when the subject is named by "
                             "identifier only."),
          Column("requester_reference", reference_key("requester", REQUESTER),
                 description="Who sent the referral, as a reference key (a practitioner, "
                             "role, organization or `Patient`)."),
          Column("performer_reference", reference_key("performer[0]", PERFORMER)),
          Column("second_performer_reference", reference_key("performer[1]", PERFORMER)),
          Column("performer_type_code", text("performerType.coding[0].code")),
          Column("location_reference", reference_key("locationReference[0]", LOCATION)),
          Column("coverage_id", ref_id("insurance[0].reference", "Coverage")),
          Column("referral_source_code",
                 extension(f"{EXT_BASE}/referral-source", "valueCoding.code")),
          Column("reason_codes", json_part("reasonCode"), "JSON"),
          Column("occurrence_at", text("occurrenceDateTime"), "TIMESTAMPTZ")),
    _spec("Task", "task",
          "Workflow Tasks (360X, BaRS, SDOH-CC, Da Vinci): the state of the request they "
          "focus on; one row per delivered version.",
          Column("status", text("status")),
          Column("business_status_code", text("businessStatus.coding[0].code")),
          Column("intent", text("intent")),
          Column("task_code", text("code.coding[0].code")),
          Column("focus_service_request_id", ref_id("focus.reference", "ServiceRequest")),
          Column("focus_referral_number", text("focus.identifier.value"),
                 description="The focus named by identifier only (an e-RS UBRN)."),
          Column("based_on_service_request_id",
                 ref_id("basedOn[0].reference", "ServiceRequest")),
          patient_key(ref_id("for.reference", "Patient")),
          Column("patient_identifier_key", reference_identifier("for", "patient"),
                 pseudonymize=PATIENT_IDENTIFIER),
          Column("owner_reference", reference_key("owner", OWNER),
                 description="Who is to act on the request: the receiving party."),
          Column("requester_reference", reference_key("requester", REQUESTER)),
          Column("authored_at", text("authoredOn"), "TIMESTAMPTZ"),
          Column("last_modified_at", text("lastModified"), "TIMESTAMPTZ"),
          Column("status_reason_code", text("statusReason.coding[0].code"))),
    _spec("Appointment", "appointment",
          "FHIR Appointments (a second scheduling source beside SIU): one row per delivered "
          "version.",
          Column("appointment_identifier", text("identifier[0].value"),
                 description="The booking's identifier (the SIU filler appointment id when "
                             "both describe the same booking)."),
          Column("status", text("status")),
          Column("start_at", text("start"), "TIMESTAMPTZ"),
          Column("end_at", text("end"), "TIMESTAMPTZ"),
          Column("created_at", text("created"), "TIMESTAMPTZ"),
          Column("based_on_service_request_id",
                 ref_id("basedOn[0].reference", "ServiceRequest")),
          Column("second_based_on_service_request_id",
                 ref_id("basedOn[1].reference", "ServiceRequest")),
          patient_key(participant_patient_id()),
          Column("practitioner_reference", participant_reference(PRACTITIONER)),
          Column("location_reference", participant_reference(LOCATION)),
          Column("service_type_code", text("serviceType[0].coding[0].code")),
          Column("specialty_code", text("specialty[0].coding[0].code")),
          Column("cancelation_reason_code", text("cancelationReason.coding[0].code"))),
    _spec("HealthcareService", "healthcare_service",
          "Services a referral may be sent to (NHS e-RS and BaRS name them as performer), "
          "each provided by an organization.",
          Column("identifier_key", identifier_key()),
          Column("name", text("name")),
          Column("provided_by_reference", reference_key("providedBy", ORGANIZATION)),
          Column("specialty_code", text("specialty[0].coding[0].code")),
          Column("location_reference", reference_key("location[0]", LOCATION)),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("Encounter", "encounter", "Visits; `based_on_service_request_id` ties one to a referral.",
          Column("status", text("status")),
          Column("class_code", text("class.code")),
          Column("type_code", text("type[0].coding[0].code")),
          patient_key(ref_id("subject.reference", "Patient")),
          Column("based_on_service_request_id", ref_id("basedOn[0].reference", "ServiceRequest")),
          Column("practitioner_reference",
                 reference_key("participant[0].individual", PRACTITIONER)),
          Column("location_reference", reference_key("location[0].location", LOCATION)),
          Column("service_provider_reference",
                 reference_key("serviceProvider", ORGANIZATION)),
          Column("period_start_at", text("period.start"), "TIMESTAMPTZ"),
          Column("period_end_at", text("period.end"), "TIMESTAMPTZ")),
    _spec("Communication", "communication",
          "Consult notes sent back to the referring clinician (the closed loop).",
          Column("status", text("status")),
          Column("category_code", text("category[0].coding[0].code")),
          Column("based_on_service_request_id", ref_id("basedOn[0].reference", "ServiceRequest")),
          patient_key(ref_id("subject.reference", "Patient")),
          Column("encounter_id", ref_id("encounter.reference", "Encounter")),
          Column("sender_practitioner_id", ref_id("sender.reference", "Practitioner")),
          Column("recipient_practitioner_id",
                 ref_id("recipient[0].reference", "Practitioner")),
          Column("sent_at", text("sent"), "TIMESTAMPTZ")),
    _spec("Claim", "claim", "Professional claims: the revenue of a visit.",
          Column("status", text("status")),
          Column("use", text("use")),
          Column("type_code", text("type.coding[0].code")),
          patient_key(ref_id("patient.reference", "Patient")),
          Column("encounter_id", ref_id("item[0].encounter[0].reference", "Encounter")),
          Column("provider_practitioner_id", ref_id("provider.reference", "Practitioner")),
          Column("coverage_id", ref_id("insurance[0].coverage.reference", "Coverage")),
          Column("procedure_code", text("item[0].productOrService.coding[0].code")),
          Column("created_at", text("created"), "TIMESTAMPTZ"),
          Column("total_amount", text("total.value"), "DECIMAL(12,2)"),
          Column("currency", text("total.currency"))),
)
