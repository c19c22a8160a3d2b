"""Property-based fuzzing of every loader (issue 8): no bytes sink a load or leak a record.

Each example writes a landing file of mutated copies of a real record (truncated, control
bytes, invalid UTF-8, BOM, CRLF and lone CR, NUL, huge fields, wrong JSON types, deep
nesting, open quotes, missing MSH, wrong separators) and loads it with the real loader into
DuckDB. The properties: loading never raises; the file loads, its bad records quarantined
one by one (never the whole file rejected); read = loaded + quarantined, in the report and in
the ledger; and no message the loader writes (quarantine details, ledger details) contains
a marker planted in the records' names, phones and streets.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.ingest.entities.entity_registry import ENTITIES_BY_TABLE
from orchestration.ingest.loader import load_entity
from orchestration.ingest.pseudonymize import Pseudonymizer
from orchestration.ingest.warehouse import connect
from tests.conftest import FIXTURES, TEST_KEY

MARKER = "ZQXJSECRET"  # planted in names, phones and streets; must never reach a message
NASTY = [b"\x00", b"\x01", b"\x0b", b"\x1c", b"\r", b"\n", b"\r\n", b"\xff", b"\xfe\xff",
         b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b'"', b",", b"|", b"^", b"~", b"\\",
         b"{", b"}", b"[", b"]", b":", b"\t", b" "]
EXAMPLES = 120  # per format, each with up to 25 records: thousands of records per format
_names = itertools.count()


def _patient() -> bytes:
    record = json.loads((FIXTURES / "fhir" / "Patient.ndjson").read_text().splitlines()[0])
    record["name"][0]["family"] = f"{MARKER}-family"
    record["telecom"][1]["value"] = f"{MARKER}-phone"
    record["address"] = [{"line": [f"{MARKER} street"], "postalCode": "43215"}]
    return json.dumps(record).encode()


def _ga4_event() -> bytes:
    record = json.loads((FIXTURES / "ga4" / "events_20260105.ndjson").read_text()
                        .splitlines()[0])
    record["user_properties"] = [{"key": "name", "value": {"string_value": MARKER}}]
    return json.dumps(record).encode()


CRM_HEADER, CRM_ROW = (FIXTURES / "crm" / "intake_leads_202601.csv").read_bytes() \
    .replace(b"Okafor", MARKER.encode()).replace(b"(614) 555-0199", MARKER.encode()) \
    .splitlines()[:2]
SIU_MESSAGE = b"MSH" + (FIXTURES / "siu" / "siu_20260105.hl7").read_bytes() \
    .replace(b"CHALMERS", MARKER.encode()).replace(b"534 Erewhon St", MARKER.encode()) \
    .split(b"\rMSH")[1].split(b"\rBTS")[0]


def byte_mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """One record, mutated once to four times at the byte level."""
    position = st.integers(0, len(seed))
    chunk = st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=6))
    mutation = st.one_of(
        position.map(lambda i: ("truncate", i, b"")),
        st.tuples(st.just("insert"), position, chunk),
        st.tuples(st.just("replace"), position, chunk),
        st.tuples(st.just("huge"), position, st.sampled_from([b"A", b"\x00", b"\xff", b"9"])),
        st.just(("prefix", 0, b"\xef\xbb\xbf")),
        st.just(("line_ends", 0, b"")),
    )

    def apply(steps: list[tuple[str, int, bytes]]) -> bytes:
        record = seed
        for kind, at, data in steps:
            at = min(at, len(record))
            if kind == "truncate":
                record = record[:at]
            elif kind == "insert":
                record = record[:at] + data + record[at:]
            elif kind == "replace":
                record = record[:at] + data + record[at + len(data):]
            elif kind == "huge":
                record = record[:at] + data * 300_000 + record[at:]
            elif kind == "prefix":
                record = data + record
            else:
                record = record.replace(b"\r", b"\n")
        return record

    return st.lists(mutation, min_size=1, max_size=4).map(apply)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3), max_leaves=8)


def json_mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """One record with a field of the wrong JSON type, or nested thousands deep."""
    document = json.loads(seed)
    keys = st.sampled_from(sorted(document))

    def retype(key: str, value: object) -> bytes:
        return json.dumps({**document, key: value}).encode()

    def nest(key: str, depth: int) -> bytes:
        text = json.dumps({**document, key: None})
        return text.replace("null", "[" * depth + "]" * depth, 1).encode()

    return st.one_of(st.builds(retype, keys, json_values),
                     st.builds(nest, keys, st.integers(100, 20_000)))


def records(seed: bytes, structured: st.SearchStrategy[bytes] | None = None,
            ) -> st.SearchStrategy[list[bytes]]:
    one = byte_mutations(seed) if structured is None else st.one_of(byte_mutations(seed),
                                                                      structured)
    return st.lists(st.one_of(one, st.just(seed)), min_size=1, max_size=25)


FORMATS = {
    # table: (folder in the landing folder, file name pattern, seed, records, file builder)
    "ehr_patient": ("ehr/export_{n}", "Patient.ndjson", records(_patient(),
                                                            json_mutations(_patient()))),
    "web_ga4_events": ("web", "events_2026{n:04d}.ndjson",
                       records(_ga4_event(), json_mutations(_ga4_event()))),
    "crm_intake_leads": ("crm/intake_leads", "intake_leads_{n}.csv", records(CRM_ROW)),
    "scheduling_siu_messages": ("scheduling", "siu_{n}.hl7", records(SIU_MESSAGE)),
}


def _file(table: str, lines: list[bytes]) -> bytes:
    if table == "crm_intake_leads":
        return CRM_HEADER + b"\n" + b"\n".join(lines) + b"\n"
    if table == "scheduling_siu_messages":
        return b"\r".join(lines) + b"\r"
    return b"\n".join(lines) + b"\n"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path_factory.mktemp("fuzz") / "warehouse.duckdb")
    yield con
    con.close()


@pytest.mark.parametrize("table", sorted(FORMATS))
def test_no_bytes_sink_a_load_or_leak_a_record(table: str,
                                              warehouse: duckdb.DuckDBPyConnection) -> None:
    folder, pattern, strategy = FORMATS[table]
    spec = ENTITIES_BY_TABLE[table]
    pseudonymizer = Pseudonymizer(TEST_KEY)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(lines=strategy)
    def load_mutated(lines: list[bytes]) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            landing = Path(scratch)
            number = next(_names)
            target = landing / folder.format(n=number) / pattern.format(n=number)
            target.parent.mkdir(parents=True)
            target.write_bytes(_file(table, lines))
            if table == "ehr_patient":
                (target.parent / "manifest.json").write_text(json.dumps({"output": [
                    {"type": "Patient", "url": f"file:///{target.name}"}]}))
            report = load_entity(warehouse, spec, landing, pseudonymizer, run_id=f"f{number}")
        assert len(report.files) == 1
        outcome = report.files[0]
        # Bad records are quarantined one by one: no mutation of a record (the header is
        # never mutated) may turn into rejecting the whole file.
        assert outcome.status in {"loaded", "duplicate_file", "empty"}, outcome.detail
        assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined

    load_mutated()
    books = warehouse.execute(
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
        "from raw._load_ledger where entity = ?", [table]).fetchone()
    in_raw = warehouse.execute(f"select count(*) from raw.{table}").fetchone()[0]
    in_quarantine = warehouse.execute("select count(*) from raw._quarantine where entity = ?",
                                      [table]).fetchone()[0]
    assert books[0] == books[1] + books[2] and (books[1], books[2]) == (in_raw, in_quarantine)
    assert books[0] >= EXAMPLES, "the fuzzer fed too few records to mean anything"
    messages = warehouse.execute(
        "select detail from raw._quarantine where entity = ? union all "
        "select detail from raw._load_ledger where entity = ? and detail is not null",
        [table, table]).fetchall()
    assert messages, "no record was quarantined: the mutations did not bite"
    leaked = [m for (m,) in messages if m and MARKER in m]
    assert not leaked
    assert max(len(m or "") for (m,) in messages) <= 300
