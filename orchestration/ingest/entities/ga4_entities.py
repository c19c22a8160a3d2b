"""GA4 BigQuery-export events (NDJSON, one `events_YYYYMMDD` file per day).

The fields the funnel needs (page path, session id, lead id, form name) are pulled out of
`event_params` here; the rest of it is not loaded, only the names of its keys: a parameter's
value can carry what a visitor typed (a search term, a form field) or a URL with one in its
query string (docs/privacy.md). For the same reason a page's address is kept as its path
only, without scheme, host, query string or fragment; the browser's client id
(`user_pseudo_id`) is stored as its keyed hash, like the CRM lead's copy of it, so the two
still join; and the city, a geographic unit smaller than a state, is not loaded.
"""

from __future__ import annotations

from orchestration.ingest.entities.entity_spec import GA4_NDJSON, Column, DriftPolicy, EntitySpec
from orchestration.ingest.pseudonymize import WEB_CLIENT_ID, WEB_USER_ID

# event_params read once into a list of parameters whose key and values stay JSON: read as
# text with `->>`, as the contract read each parameter's JSON before (a number's text is
# JSON's, not a cast's), and a key compared as the JSON string it must be. Reading each
# parameter's JSON for every column parsed every parameter five times;
# tests/test_ndjson_lines.py holds the two readings equal.
EVENT_PARAMS = ("from_json(doc->'$.event_params', '[{\"key\": \"JSON\", \"value\": "
                "{\"string_value\": \"JSON\", \"int_value\": \"JSON\"}}]')")


def _param(key: str, kind: str = "string_value") -> str:
    return (f"list_filter({EVENT_PARAMS}, lambda p: p.key = '\"{key}\"')[1]"
            f".value.{kind}->>'$'")


# A page address: an optional `scheme://host` (or `//host`), then the path up to the first
# `?` or `#`, whatever comes before it. `[^?#]` crosses line breaks; the `[?#].*$` this
# replaced did not (`.` stops at one), so a query string holding a line break was kept whole
# in page_path (tests/test_ga4_page_path.py).
URL_PATH_PATTERN = "'^(?:(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*)?([^?#]*)'"


def url_path(url: str) -> str:
    """SQL for a URL's path alone: no scheme, host, query string or fragment ('/' for none).

    NULL stays NULL: `regexp_replace(..., '^$', '/')` turns only an empty path into '/'.
    """
    return f"regexp_replace(regexp_extract({url}, {URL_PATH_PATTERN}, 1), '^$', '/')"


# The last microsecond of 9999-12-31 (UTC): the latest time DuckDB, Spark and Postgres all
# represent, as microseconds since the Unix epoch.
LAST_MICROSECOND = 253_402_300_799_999_999

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
               value_range=(0, LAST_MICROSECOND),
               description="Microseconds since the Unix epoch (UTC), 1970 to 9999."),
        Column("event_name", "doc->>'$.event_name'", required=True),
        Column("user_pseudo_id", "doc->>'$.user_pseudo_id'", pseudonymize=WEB_CLIENT_ID,
               description="Keyed hash of GA4's browser client id; joins to the CRM lead's "
                           "ga_client_id."),
        Column("user_key", "doc->>'$.user_id'", pseudonymize=WEB_USER_ID,
               description="Keyed hash of GA4 user_id, when the site sets one."),
        Column("event_param_keys",
               f"array_to_string(list_transform({EVENT_PARAMS}, lambda p: p.key->>'$'), ',')",
               json_path="$.event_params", json_type="ARRAY",
               description="The keys of GA4's event_params, comma-separated; their values are "
                           "not loaded (an array; an object is drift)."),
        Column("page_path", url_path(_param("page_location")),
               description="The path of the page's URL, without host, query string or "
                           "fragment."),
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
        Column("platform", "doc->>'$.platform'"),
        Column("stream_id", "doc->>'$.stream_id'"),
    ),
)
