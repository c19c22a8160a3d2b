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
from orchestration.ingest.readers.ndjson_reader import KEPT_LINE, LINE_TEXT_SQL, parse_once_sql

PIECES = [b"\xef\xbb\xbf", b"\r", b" ", b"\t", b"{}", b'{"a":1}', b"\xff", b"\xc3",
          "é".encode(), "日本".encode(), b"x"]

# What the splitter hands over: a line holds no line feed but its last byte, if any.
contents = st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join)
lines = st.builds(lambda content, ended: content + (b"\n" if ended else b""),
                  contents, st.booleans())


def _both_forms(data: list[bytes]) -> list[tuple]:
    con = duckdb.connect()
    con.register("_lines", pa.table({"line": pa.array(data, pa.large_binary())}))
    plain = "rtrim(ltrim(try(decode(line)), chr(65279)), chr(10) || chr(13))"
    return con.execute(f"""
        select text, {plain}, {KEPT_LINE}, text is null or trim(text) <> ''
        from ({LINE_TEXT_SQL.format(lines="_lines")})""").fetchall()


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=1, max_size=20))
def test_fast_line_text_equals_the_plain_definition(data: list[bytes]) -> None:
    for fast, plain, kept_fast, kept_plain in _both_forms(data):
        assert fast == plain
        assert kept_fast == kept_plain


@settings(max_examples=200, deadline=None)
@given(st.lists(contents, max_size=20))
def test_split_file_lines_clean_to_the_plain_definition(chunks: list[bytes]) -> None:
    # Whole files as the loader splits them: every line but the last ends in its line feed.
    table = bytes_lines(b"\n".join(chunks))
    for fast, plain, kept_fast, kept_plain in _both_forms(table.column("line").to_pylist()):
        assert (fast, kept_fast) == (plain, kept_plain)


def test_known_lines() -> None:
    data = [b"\xef\xbb\xbf{}\r\n", b"   \n", b"\xff{}\n", b"{}\r\r", b"", "é\n".encode()]
    assert [(row[0], row[2]) for row in _both_forms(data)] == [
        ("{}", True), ("   ", False), (None, True), ("{}", True), ("", False), ("é", True)]


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
