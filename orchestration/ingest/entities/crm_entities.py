"""The CRM's CSV exports: one entity per export, with the columns each file must have.

A file's header must hold `expected_columns` (the source's columns, some of which are read
only to be pseudonymized or generalized, never loaded as they are); the CSV reader checks it
(orchestration/ingest/readers/csv_reader.py).
"""

from __future__ import annotations

from orchestration.ingest.entities.entity_spec import CRM_CSV, Column, DriftPolicy, EntitySpec
from orchestration.ingest.entities.safe_harbor import (
    aged_90_or_older,
    birth_year,
    has_text,
    zip3,
)
from orchestration.ingest.pseudonymize import EMAIL, WEB_CLIENT_ID


def _col(name: str, sql_type: str = "VARCHAR", required: bool = False, **kw: object) -> Column:
    return Column(name, f'"{name}"', sql_type, required, **kw)  # type: ignore[arg-type]


# A column an admin adds to a CRM export can hold anything (a phone, a note about a patient):
# its rows wait in quarantine until the contract says what it is; nothing else is typed.
CRM_DRIFT = DriftPolicy(columns="discard_row", data_type="discard_row")


def _entity(name: str, description: str, *columns: Column,
            source_columns: tuple[str, ...] | None = None) -> EntitySpec:
    expected = source_columns or tuple(c.name for c in columns)
    return EntitySpec(source="crm", name=name, description=description, columns=columns,
                      file_format=CRM_CSV, folder=f"crm/{name}", pattern="*.csv", drift=CRM_DRIFT,
                      extra={"expected_columns": ",".join(expected)})


MODIFIED = _col("last_modified_at", "TIMESTAMPTZ", True)

CRM_ENTITIES: tuple[EntitySpec, ...] = (
    _entity("referring_practices", "Referring practices (CRM accounts) and their liaison.",
            _col("practice_id", required=True), _col("practice_name"), _col("practice_npi"),
            _col("city"), _col("state"), _col("postal_code"), _col("phone"),
            _col("liaison_owner"), _col("network_status"), _col("created_date", "DATE"),
            MODIFIED),
    _entity("referring_providers", "Referring providers (CRM contacts) with NPI and specialty.",
            _col("provider_id", required=True), _col("npi"), _col("first_name"),
            _col("last_name"), _col("credential"), _col("taxonomy_code"), _col("practice_id"),
            _col("liaison_owner"), _col("relationship_status"), _col("created_date", "DATE"),
            MODIFIED),
    _entity("liaison_activities", "Physician-liaison activities: visits, calls, lunches, CME.",
            _col("activity_id", required=True), _col("activity_date", "DATE", True),
            _col("activity_type"), _col("liaison_owner"), _col("practice_id"),
            _col("provider_npi"), _col("duration_minutes", "INTEGER"), _col("status"),
            Column("has_subject", has_text('"subject"'), "BOOLEAN",
                   description="Whether the activity has a subject; its free text is not "
                               "loaded."),
            MODIFIED,
            source_columns=(
                "activity_id", "activity_date", "activity_type", "liaison_owner", "practice_id",
                "provider_npi", "duration_minutes", "status", "subject", "last_modified_at")),
    _entity("campaigns", "Marketing campaigns with channel, UTM tags, dates and budget.",
            _col("campaign_id", required=True), _col("campaign_name"), _col("channel"),
            _col("utm_source"), _col("utm_medium"), _col("utm_campaign"),
            _col("start_date", "DATE"), _col("end_date", "DATE"),
            _col("budget_amount", "DECIMAL(14,2)"), _col("currency"),
            _col("target_specialty_code"), _col("status"), MODIFIED),
    _entity("campaign_spend", "Daily spend per campaign.",
            _col("campaign_id", required=True), _col("spend_date", "DATE", True),
            _col("spend_amount", "DECIMAL(14,2)"), _col("currency"),
            _col("impressions", "BIGINT"), _col("clicks", "BIGINT"), MODIFIED),
    _entity("intake_leads", "Intake leads; contact details pseudonymized or dropped.",
            _col("lead_id", required=True), _col("created_at", "TIMESTAMPTZ", True),
            Column("contact_key", "lower(trim(\"email\"))", pseudonymize=EMAIL,
                   description="Keyed hash of the lead's e-mail address."),
            Column("birth_year", birth_year('"date_of_birth"'), "INTEGER",
                   description="Year of birth; null for the 90 or older (Safe Harbor)."),
            Column("is_aged_90_or_older", aged_90_or_older('"date_of_birth"'), "BOOLEAN",
                   description="Safe Harbor's one category for ages over 89."),
            Column("postal_code_3", zip3('"postal_code"'),
                   description="First 3 digits of the ZIP code; 000 for the restricted areas."),
            _col("referral_source"),
            Column("has_referral_source_other", has_text('"referral_source_other"'), "BOOLEAN",
                   description="Whether the lead named an 'other' source; the free text is "
                               "not loaded."),
            _col("referring_provider_npi"), _col("campaign_id"), _col("utm_campaign"),
            Column("ga_client_id", "\"ga_client_id\"", pseudonymize=WEB_CLIENT_ID,
                   description="Keyed hash of the web client id; joins to GA4's "
                               "user_pseudo_id."),
            _col("specialty_requested"), _col("status"),
            _col("converted_referral_id"), _col("converted_at", "TIMESTAMPTZ"), MODIFIED,
            source_columns=(
                "lead_id", "created_at", "first_name", "last_name", "phone", "email",
                "date_of_birth", "postal_code", "referral_source", "referral_source_other",
                "referring_provider_npi", "campaign_id", "utm_campaign", "ga_client_id",
                "specialty_requested", "status", "converted_referral_id", "converted_at",
                "last_modified_at")),
)


