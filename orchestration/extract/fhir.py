"""The EHR's FHIR R4 bulk export: manifest discovery and per-resource column declarations.

A bulk `$export` delivers one folder per export with a `manifest.json` listing NDJSON files
per resource type. Each resource type is one entity; its columns are JSON-path expressions
over the resource (`doc`), evaluated by DuckDB. References to the Patient are reduced to the
id and pseudonymized; everything else a Patient carries that identifies a person is dropped.
"""

from __future__ import annotations

from orchestration.extract.spec import Column, EntitySpec

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


def extension(url: str, value_path: str) -> str:
    """Return a value of the first extension with the given url."""
    return (f"list_filter(try_cast(doc->'$.extension' as json[]), "
            f"lambda e: e->>'url' = '{url}')[1]->>'$.{value_path}'")


PATIENT_KEY = "patient_key"
PRACTITIONER = ("Practitioner", "PractitionerRole")
ORGANIZATION = ("Organization",)
LOCATION = ("Location",)
REQUESTER = ("Practitioner", "PractitionerRole", "Organization")
PERFORMER = ("Practitioner", "PractitionerRole", "Organization")


def _common(resource: str) -> tuple[Column, ...]:
    if resource == "patient":
        # The Patient's own id is an identifier of the person: only its keyed hash is kept.
        key = Column(PATIENT_KEY, text("id"), required=True, pseudonymize=True,
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


def _spec(resource_type: str, name: str, description: str, *columns: Column) -> EntitySpec:
    return EntitySpec(source="ehr", name=name, description=description,
                      columns=(*_common(name), *columns), file_format="fhir_ndjson",
                      folder="ehr", pattern="manifest.json", resource_type=resource_type)



FHIR_ENTITIES: tuple[EntitySpec, ...] = (
    _spec("Patient", "patient", "Patients, pseudonymized: keyed hashes of the FHIR id and "
          "MRN, sex, birth year and 3-digit ZIP only.",
          Column("mrn_key", identifier_of_type("MR"), pseudonymize=True,
                 description="Keyed hash of the MRN; joins to scheduling's patient_mrn_key."),
          Column("gender", text("gender")),
          Column("birth_year", "left(doc->>'$.birthDate', 4)", "INTEGER"),
          Column("postal_code_3", "left(doc->>'$.address[0].postalCode', 3)"),
          Column("state", text("address[0].state")),
          Column("is_active", text("active"), "BOOLEAN")),
    _spec("Practitioner", "practitioner", "Clinicians with their NPI and primary taxonomy.",
          Column("npi", identifier(NPI_SYSTEM)),
          Column("identifier_key", identifier_key(),
                 description="system|value of the first identifier (conditional references)."),
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
          Column(PATIENT_KEY, ref_id("beneficiary.reference", "Patient"), pseudonymize=True),
          Column("status", text("status")),
          Column("payer_class_code", text("type.coding[0].code")),
          Column("payer_class_display", text("type.coding[0].display")),
          Column("payer_organization_id", ref_id("payor[0].reference", "Organization")),
          Column("payer_name", text("payor[0].display"))),
    _spec("ServiceRequest", "service_request",
          "Referrals: one row per delivered version of each ServiceRequest.",
          Column("referral_number", identifier("urn:oid:2.16.840.1.113883.3.7418.2.1")),
          Column("status", text("status")),
          Column("intent", text("intent")),
          Column("priority", text("priority")),
          Column("category_code", text("category[0].coding[0].code")),
          Column("authored_at", text("authoredOn"), "TIMESTAMPTZ"),
          Column(PATIENT_KEY, ref_id("subject.reference", "Patient"), pseudonymize=True),
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
    _spec("Encounter", "encounter", "Visits; `based_on_service_request_id` ties one to a referral.",
          Column("status", text("status")),
          Column("class_code", text("class.code")),
          Column("type_code", text("type[0].coding[0].code")),
          Column(PATIENT_KEY, ref_id("subject.reference", "Patient"), pseudonymize=True),
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
          Column(PATIENT_KEY, ref_id("subject.reference", "Patient"), pseudonymize=True),
          Column("encounter_id", ref_id("encounter.reference", "Encounter")),
          Column("sender_practitioner_id", ref_id("sender.reference", "Practitioner")),
          Column("recipient_practitioner_id",
                 ref_id("recipient[0].reference", "Practitioner")),
          Column("sent_at", text("sent"), "TIMESTAMPTZ")),
    _spec("Claim", "claim", "Professional claims: the revenue of a visit.",
          Column("status", text("status")),
          Column("use", text("use")),
          Column("type_code", text("type.coding[0].code")),
          Column(PATIENT_KEY, ref_id("patient.reference", "Patient"), pseudonymize=True),
          Column("encounter_id", ref_id("item[0].encounter[0].reference", "Encounter")),
          Column("provider_practitioner_id", ref_id("provider.reference", "Practitioner")),
          Column("coverage_id", ref_id("insurance[0].coverage.reference", "Coverage")),
          Column("procedure_code", text("item[0].productOrService.coding[0].code")),
          Column("created_at", text("created"), "TIMESTAMPTZ"),
          Column("total_amount", text("total.value"), "DECIMAL(12,2)"),
          Column("currency", text("total.currency"))),
)
