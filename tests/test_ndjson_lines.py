"""The loader's fast NDJSON forms equal the plain definitions they replaced.

The NDJSON loader strips a line's byte-order mark and line end, and skips blank lines, with
expressions that only scan the lines that need it (issue 11). Their meaning is the plain
`rtrim(ltrim(try(decode(line)), chr(65279)), chr(10) || chr(13))` and `trim(text) <> ''`;
hypothesis draws lines made of the characters that matter (BOMs, CR, LF, spaces, invalid
UTF-8, multi-byte text) and DuckDB evaluates both forms.

Likewise the contract's expressions over a line's JSON (`doc->>'$.p'`, `doc->'$.p'`,
`json_type(doc, '$.p')`, `doc is null`) are evaluated with each line parsed once
(`parse_once_sql`); on hypothesis-drawn documents, valid or cut short, they equal the same
expressions evaluated on the parsed document itself.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.ingest.readers.line_batches import bytes_lines
from orchestration.ingest.readers.ndjson_reader import (
    KEPT_LINE,
    LINE_TEXT_SQL,
    parse_once_sql,
    utf8_lines,
)

PIECES = [b"\xef\xbb\xbf", b"\r", b" ", b"\t", b"{}", b'{"a":1}', b"\xff", b"\xc3",
          "é".encode(), "日本".encode(), b"x"]

# What the splitter hands over: a line holds no line feed but its last byte, if any.
contents = st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join)
lines = st.builds(lambda content, ended: content + (b"\n" if ended else b""),
                  contents, st.booleans())


def _both_forms(data: list[bytes]) -> list[tuple]:
    """The loader's text and kept flag beside the plain definitions', line by line.

    The loader's lines go through `utf8_lines`, as a batch does: as text when every line is
    UTF-8 (drawn lines often are), else as bytes decoded in SQL. Each row is the loader's
    text and kept flag, then the plain definitions'.
    """
    con = duckdb.connect()
    raw = pa.table({"n": pa.array(range(len(data)), pa.int64()),
                    "line": pa.array(data, pa.large_binary())})
    lines, decoded = utf8_lines(raw)
    con.register("_lines", lines)
    con.register("_raw", raw)
    plain = "rtrim(ltrim(try(decode(line)), chr(65279)), chr(10) || chr(13))"
    fast = con.execute(f"""
        select text, {KEPT_LINE} from ({LINE_TEXT_SQL.format(lines="_lines", decoded=decoded)})
        order by n""").fetchall()
    reference = con.execute(f"""
        select {plain} as text, text is null or trim(text) <> '' from _raw order by n
        """).fetchall()
    return [(*f, *r) for f, r in zip(fast, reference, strict=True)]


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=1, max_size=20))
def test_fast_line_text_equals_the_plain_definition(data: list[bytes]) -> None:
    for fast, kept_fast, plain, kept_plain in _both_forms(data):
        assert fast == plain
        assert kept_fast == kept_plain


@settings(max_examples=200, deadline=None)
@given(st.lists(contents, max_size=20))
def test_split_file_lines_clean_to_the_plain_definition(chunks: list[bytes]) -> None:
    # Whole files as the loader splits them: every line but the last ends in its line feed.
    table = bytes_lines(b"\n".join(chunks))
    for fast, kept_fast, plain, kept_plain in _both_forms(table.column("line").to_pylist()):
        assert (fast, kept_fast) == (plain, kept_plain)


def test_known_lines() -> None:
    data = [b"\xef\xbb\xbf{}\r\n", b"   \n", b"\xff{}\n", b"{}\r\r", b"", "é\n".encode()]
    assert [(row[0], row[1]) for row in _both_forms(data)] == [
        ("{}", True), ("   ", False), (None, True), ("{}", True), ("", False), ("é", True)]


def test_a_batch_of_utf8_lines_is_text_and_one_bad_line_keeps_it_bytes() -> None:
    good = bytes_lines("{}\n日本\n".encode())
    text, decoded = utf8_lines(good)
    assert (text.schema.field("line").type, decoded) == (pa.large_string(), "line")
    bad = bytes_lines(b"{}\n\xff\n")
    kept, decoded = utf8_lines(bad)
    assert (kept.schema.field("line").type, decoded) == (pa.large_binary(), "try(decode(line))")


# Values under a few keys, so that the expressions' paths often find something, of every
# JSON type; documents are objects, other JSON texts, or either cut short.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "c", "k", "v"]), inner, max_size=3),
    max_leaves=8)
documents = st.builds(
    lambda value, cut, pad: pad + json.dumps(value)[:cut],
    st.dictionaries(st.sampled_from(["a", "b", "c"]), json_values, max_size=3) | json_values,
    st.none() | st.integers(min_value=0, max_value=30), st.sampled_from(["", " ", "\t"]))
EXPRESSIONS = [
    "doc is null", "doc->>'$.a'", "doc->'$.b'", "json_type(doc, '$.a')",
    "doc->>'$.b.c'", "json_type(doc, '$.b')", "doc->>'$.a[0]'",
    "list_filter(try_cast(doc->'$.b' as json[]), lambda p: p->>'k' = 'x')[1]->>'$.v'",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=1, max_size=10))
def test_parsing_each_line_once_equals_reading_the_document(texts: list[str]) -> None:
    con = duckdb.connect()
    con.register("_texts", pa.table({"text": pa.array(texts, pa.string())}))
    fast = con.execute(
        f"select {', '.join(f'_e{n}' for n in range(len(EXPRESSIONS)))} "
        f"from ({parse_once_sql(EXPRESSIONS, 'select text from _texts')})").fetchall()
    plain = con.execute(f"""
        select {', '.join(EXPRESSIONS)} from (
            select case when starts_with(ltrim(text, ' ' || chr(9)), '{{')
                             and json_valid(text) then cast(text as json) end as doc
            from _texts)""").fetchall()
    assert fast == plain


# GA4's event_params as the export writes them, and as a feed could break them: parameters
# with keys of every JSON type, values with or without the typed members, other elements.
param_values = st.fixed_dictionaries({}, optional={"string_value": json_values,
                                                   "int_value": json_values}) | json_values
parameters = st.fixed_dictionaries(
    {"key": st.sampled_from(["page_location", "lead_id", "ga_session_id", "x"]) | json_values},
    optional={"value": param_values})
event_params = st.lists(parameters | json_values, max_size=5) | json_values


def _by_each_parameters_json(key: str, kind: str = "string_value") -> str:
    """How the GA4 contract read a parameter before: each parameter's JSON with `->>`."""
    return (f"list_filter(try_cast(doc->'$.event_params' as json[]), "
            f"lambda p: p->>'key' = '{key}')[1]->>'$.value.{kind}'")


@settings(max_examples=300, deadline=None)
@given(st.lists(event_params, min_size=1, max_size=10))
def test_ga4_parameters_read_once_typed_equal_reading_each_parameters_json(params) -> None:
    from orchestration.ingest.entities.ga4_entities import GA4_ENTITY, _param

    keys = next(c.expression for c in GA4_ENTITY.columns if c.name == "event_param_keys")
    read = [(key, kind) for key in ("page_location", "lead_id", "ga_session_id")
            for kind in ("string_value", "int_value")]
    typed = [_param(key, kind) for key, kind in read] + [keys]
    by_json = [_by_each_parameters_json(key, kind) for key, kind in read] + [
        "array_to_string(list_transform(try_cast(doc->'$.event_params' as json[]), "
        "lambda p: p->>'key'), ',')"]
    con = duckdb.connect()
    con.register("_texts", pa.table({"text": [json.dumps({"event_params": p}) for p in params]}))
    rows = con.execute(f"""select * exclude (text) from ({parse_once_sql(
        typed + by_json, 'select text from _texts')})""").fetchall()
    for row in con.execute(
            f"select {', '.join(f'_e{n}' for n in range(2 * len(typed)))} "
            f"from ({parse_once_sql(typed + by_json, 'select text from _texts')})").fetchall():
        assert row[:len(typed)] == row[len(typed):]
    assert rows
