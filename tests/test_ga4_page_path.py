"""GA4's page address reaches the warehouse as its path alone, whatever the query string holds.

`page_location` can carry what a visitor typed (`?email=...`, a search term) in its query
string or fragment, so the loader keeps the path only (docs/privacy.md). Hypothesis builds
addresses from their parts, with line breaks, `?`, `#` and any Unicode in the query string
and fragment, and DuckDB evaluates the loader's expression on them: what comes out is the
path the address was built with, never any of the rest. A query string holding a line break
was kept whole before (`[?#].*$`, whose `.` stops at a line break).

The loader writes DuckDB's raw tables only (docs/scale-out.md), so this runs on DuckDB.
"""

from __future__ import annotations

import json

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.ingest.entities.ga4_entities import url_path
from tests.conftest import load

# A path segment or a host holds anything but the delimiters; text is what UTF-8 can carry.
segment = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/?#"),
                  max_size=6)
paths = st.lists(segment, max_size=3).map(lambda parts: "".join("/" + p for p in parts))
origins = st.one_of(
    st.just(""),  # a path alone
    st.builds(lambda host: "//" + host, segment),  # protocol-relative
    st.builds(lambda scheme, host: f"{scheme}://{host}",
              st.from_regex(r"[A-Za-z][A-Za-z0-9+.-]{0,6}", fullmatch=True), segment))
rests = st.one_of(st.none(),  # anything: line breaks, '?', '#'
                  st.text(st.characters(exclude_categories=("Cs",)), max_size=12))


def _address(origin: str, path: str, query: str | None, fragment: str | None) -> str:
    return (origin + path + ("" if query is None else "?" + query)
            + ("" if fragment is None else "#" + fragment))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(origins, paths, rests, rests), min_size=1, max_size=20))
def test_the_path_is_all_that_is_kept(addresses) -> None:
    # A path alone that starts with '//' reads as a host: drawn paths start with one '/'.
    addresses = [(o, p, q, f) for o, p, q, f in addresses if o or not p.startswith("//")]
    con = duckdb.connect()
    urls = [_address(*parts) for parts in addresses] + [None]
    kept = con.execute(f"select {url_path('url')} from unnest(cast(? as varchar[])) "
                       "with ordinality t(url, n) order by n", [urls]).fetchall()
    assert [row[0] for row in kept] == [path or "/" for _, path, _, _ in addresses] + [None]


def test_a_line_break_in_the_query_string_is_not_loaded(warehouse, landing,
                                                        pseudonymizer) -> None:
    events = landing / "web" / "events_20260105.ndjson"
    first = json.loads(events.read_text().splitlines()[0])
    for parameter in first["event_params"]:
        if parameter["key"] == "page_location":
            parameter["value"]["string_value"] = (
                "https://www.example.org/forms/contact?email=ada@example.net\n&name=Ada#top")
    events.write_text(json.dumps(first) + "\n")
    report = load(warehouse, landing, "web_ga4_events", pseudonymizer)
    assert report.rows_loaded == 1
    assert warehouse.execute("select page_path from raw.web_ga4_events").fetchall() == [
        ("/forms/contact",)]
