"""CSV exports of a healthcare CRM: practices, providers, activities, campaigns, spend, leads.

Each entity has its own folder and a fixed column list; exports are incremental (records
created or modified since the previous export), as CRM data-export jobs deliver them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

COLUMNS: dict[str, tuple[str, ...]] = {
    "referring_practices": (
        "practice_id", "practice_name", "practice_npi", "city", "state", "postal_code",
        "phone", "liaison_owner", "network_status", "created_date", "last_modified_at"),
    "referring_providers": (
        "provider_id", "npi", "first_name", "last_name", "credential", "taxonomy_code",
        "practice_id", "liaison_owner", "relationship_status", "created_date",
        "last_modified_at"),
    "liaison_activities": (
        "activity_id", "activity_date", "activity_type", "liaison_owner", "practice_id",
        "provider_npi", "duration_minutes", "status", "subject", "last_modified_at"),
    "campaigns": (
        "campaign_id", "campaign_name", "channel", "utm_source", "utm_medium", "utm_campaign",
        "start_date", "end_date", "budget_amount", "currency", "target_specialty_code",
        "status", "last_modified_at"),
    "campaign_spend": (
        "campaign_id", "spend_date", "spend_amount", "currency", "impressions", "clicks",
        "last_modified_at"),
    "intake_leads": (
        "lead_id", "created_at", "first_name", "last_name", "phone", "email", "date_of_birth",
        "postal_code", "referral_source", "referral_source_other", "referring_provider_npi",
        "campaign_id", "utm_campaign", "ga_client_id", "specialty_requested", "status",
        "converted_referral_id", "converted_at", "last_modified_at"),
}


def row(values: Sequence[object]) -> str:
    """Return one CSV row (RFC 4180 quoting, no line terminator)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(
        "" if value is None else value for value in values)
    return buffer.getvalue()


def header(entity: str, extra: Sequence[str] = ()) -> str:
    """Return the header row of an entity's export file."""
    return row([*COLUMNS[entity], *extra])
