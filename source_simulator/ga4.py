"""GA4 events in the BigQuery export schema, as NDJSON (one `events_YYYYMMDD` table per day).

BigQuery's JSON export writes INT64 columns as strings, which is why `event_timestamp` and
`int_value` are strings here, exactly as a `bq extract --destination_format
NEWLINE_DELIMITED_JSON` of the GA4 export gives them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

STREAM_ID = "4471892203"
SITE = "https://www.riverbendhealth.example"


def _param(key: str, value: str | int) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"int_value": str(value)}}
    return {"key": key, "value": {"string_value": value}}


def event(*, name: str, moment: datetime, micros: int, user_pseudo_id: str, session_id: int,
          page_path: str, utm: tuple[str, str, str] | None, first_touch: tuple[str, str, str],
          device: str, city: str, extra: dict[str, str | int] | None = None) -> str:
    """Return one GA4 export row as a JSON line."""
    params = [
        _param("ga_session_id", session_id),
        _param("page_location", SITE + page_path),
        _param("engagement_time_msec", 0 if name == "session_start" else 1200),
    ]
    for key, value in (extra or {}).items():
        params.append(_param(key, value))
    timestamp = int(moment.timestamp()) * 1_000_000 + micros
    collected: dict[str, Any] = {}
    if utm is not None:
        collected = {"manual_source": utm[0], "manual_medium": utm[1],
                     "manual_campaign_name": utm[2]}
    row = {
        "event_date": moment.strftime("%Y%m%d"),
        "event_timestamp": str(timestamp),
        "event_name": name,
        "event_params": params,
        "user_pseudo_id": user_pseudo_id,
        "device": {"category": device, "web_info": {"browser": "Chrome"}},
        "geo": {"country": "United States", "region": "Ohio", "city": city},
        "traffic_source": {"source": first_touch[0], "medium": first_touch[1],
                           "name": first_touch[2]},
        "collected_traffic_source": collected or None,
        "stream_id": STREAM_ID,
        "platform": "WEB",
    }
    return json.dumps(row, separators=(",", ":"))
