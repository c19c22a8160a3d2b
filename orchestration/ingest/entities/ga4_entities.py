"""GA4 BigQuery-export events (NDJSON, one `events_YYYYMMDD` file per day).

`event_params` stays JSON in the raw table (staging unnests it); the fields the funnel needs
most often (page location, session id, lead id) are also pulled out here.
"""

from __future__ import annotations

from orchestration.ingest.entities.entity_spec import GA4_NDJSON, Column, DriftPolicy, EntitySpec


def _param(key: str, kind: str = "string_value") -> str:
    return (f"list_filter(try_cast(doc->'$.event_params' as json[]), "
            f"lambda p: p->>'key' = '{key}')[1]->>'$.value.{kind}'")


# Google adds fields to the BigQuery export over time; the reader reads the declared paths
# only. A declared field of another JSON type quarantines its event.
GA4_DRIFT = DriftPolicy(columns="discard_value", data_type="discard_row")

GA4_ENTITY = EntitySpec(
    source="web", name="ga4_events",
    description="GA4 events as exported to BigQuery, one row per event.",
    file_format=GA4_NDJSON, folder="web", pattern="events_*.ndjson", drift=GA4_DRIFT,
    columns=(
        Column("event_date", "doc->>'$.event_date'", required=True,
               description="The export table's day, YYYYMMDD, as GA4 writes it."),
        Column("event_timestamp", "doc->>'$.event_timestamp'", "BIGINT", required=True,
               description="Microseconds since the Unix epoch (UTC)."),
        Column("event_name", "doc->>'$.event_name'", required=True),
        Column("user_pseudo_id", "doc->>'$.user_pseudo_id'"),
        Column("user_key", "doc->>'$.user_id'", pseudonymize=True,
               description="Keyed hash of GA4 user_id, when the site sets one."),
        Column("event_params", "json(doc->'$.event_params')", "JSON",
               json_path="$.event_params", json_type="ARRAY",
               description="GA4's repeated key/value record: an array (an object is drift)."),
        Column("page_location", _param("page_location")),
        Column("ga_session_id", _param("ga_session_id", "int_value"), "BIGINT"),
        Column("lead_id", _param("lead_id")),
        Column("form_name", _param("form_name")),
        Column("traffic_source_source", "doc->>'$.traffic_source.source'"),
        Column("traffic_source_medium", "doc->>'$.traffic_source.medium'"),
        Column("traffic_source_name", "doc->>'$.traffic_source.name'"),
        Column("utm_source", "doc->>'$.collected_traffic_source.manual_source'"),
        Column("utm_medium", "doc->>'$.collected_traffic_source.manual_medium'"),
        Column("utm_campaign", "doc->>'$.collected_traffic_source.manual_campaign_name'"),
        Column("device_category", "doc->>'$.device.category'"),
        Column("geo_country", "doc->>'$.geo.country'"),
        Column("geo_region", "doc->>'$.geo.region'"),
        Column("geo_city", "doc->>'$.geo.city'"),
        Column("platform", "doc->>'$.platform'"),
        Column("stream_id", "doc->>'$.stream_id'"),
    ),
)
