"""GA4 events in the BigQuery export schema, as NDJSON (one `events_YYYYMMDD` table per day).

BigQuery's JSON export writes INT64 columns as strings, which is why `event_timestamp` and
`int_value` are strings here, exactly as a `bq extract --destination_format
NEWLINE_DELIMITED_JSON` of the GA4 export gives them.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from source_simulator.draws import (
    any_time,
    poisson,
)
from source_simulator.output import (
    NDJSON,
    RecordFile,
    Spooled,
)
from source_simulator.world import (
    Campaign,
)

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


class WebSystem:
    """The website's part of the simulation: visitors, sessions and lead forms as GA4 events.

    A part of `Simulation` (source_simulator/simulation.py), whose state it shares.
    """

    def _web_file(self, day: str) -> RecordFile:
        return self.record_file(f"web/events_{day}.ndjson", "web", "ga4_events", NDJSON)

    # ----- web ---------------------------------------------------------------------------
    def _web_day(self, day: date) -> None:
        rng = self.rng
        for _ in range(poisson(rng, self.rates.organic_visitors_per_day * self.scale)):
            self._visitor(any_time(rng, day), None)
        for campaign in self.world.campaigns:
            if campaign.active_on(day):
                self._spend(day, campaign)

    def _visitor(self, first: datetime, campaign: Campaign | None) -> None:
        rng, rates = self.rng, self.rates
        client_id = f"{rng.randint(10**9, 2 * 10**9 - 1)}.{int(first.timestamp())}"
        if campaign is not None:
            touch = (campaign.utm_source, campaign.utm_medium, campaign.utm_campaign)
        else:
            touch = rng.choice((("google", "organic", "(organic)"),
                                ("(direct)", "(none)", "(direct)"),
                                ("bing", "organic", "(organic)")))
        sessions = [(first, touch if campaign is not None else None)]
        if rng.random() < rates.return_visit_rate:
            for _ in range(rng.randint(1, 2)):
                sessions.append((sessions[-1][0] + timedelta(days=rng.uniform(0.5, 10)), None))
        device = rng.choice(("mobile", "mobile", "desktop", "tablet"))
        city = rng.choice(self.world.cities)[0]
        for number, (start, utm) in enumerate(sessions):
            last = number == len(sessions) - 1
            self._session(start, client_id, utm, touch, device, city, campaign, last)

    def _session(self, start: datetime, client_id: str, utm: tuple[str, str, str] | None,
                 touch: tuple[str, str, str], device: str, city: str,
                 campaign: Campaign | None, last: bool) -> None:
        rng, rates = self.rng, self.rates
        if start > self.end_at:
            return
        session_id = int(start.timestamp())
        landing = f"/services/{campaign.specialty.service.lower()}" if campaign else "/"
        query = (f"?utm_source={utm[0]}&utm_medium={utm[1]}&utm_campaign={utm[2]}"
                 if utm else "")
        moment = start
        events: list[tuple[str, datetime, str, dict[str, str | int] | None]] = [
            ("session_start", moment, landing + query, None),
            ("page_view", moment, landing + query, None)]
        for _ in range(rng.randint(0, 3)):
            moment += timedelta(seconds=rng.randint(10, 120))
            events.append(("page_view", moment, rng.choice(
                ("/find-a-doctor", "/locations", "/refer-a-patient", "/services")), None))
        lead_id = None
        if last and rng.random() < rates.lead_form_rate * 2.5 and moment < self.end_at:
            moment += timedelta(seconds=rng.randint(10, 60))
            form = rng.choice(("appointment_request", "referral_request"))
            events.append(("form_start", moment, f"/forms/{form}", {"form_name": form}))
            if rng.random() < 0.4:
                moment += timedelta(seconds=rng.randint(30, 240))
                if moment <= self.end_at:
                    source = "ad" if campaign is not None and utm is not None else "web"
                    lead_id = self._lead(moment, source, campaign if source == "ad" else None,
                                         client_id, None)
                    events.append(("generate_lead", moment, f"/forms/{form}/thank-you",
                                   {"form_name": form, "lead_id": lead_id}))
        if rng.random() < rates.click_to_call_rate:
            moment += timedelta(seconds=rng.randint(5, 60))
            events.append(("click_to_call", moment, "/locations", {"link_url": "tel:+15550100"}))
        for name, when, path, extra in events:
            if when > self.end_at:
                continue
            micros = rng.randint(0, 999_999)
            text = event(name=name, moment=when, micros=micros, user_pseudo_id=client_id,
                             session_id=session_id, page_path=path, utm=utm, first_touch=touch,
                             device=device, city=city, extra=extra)
            self.web.add(f"{when:%Y%m%d}", Spooled((when, micros, name), text,
                                                   f"{client_id}:{name}:{when:%H%M%S}"))
