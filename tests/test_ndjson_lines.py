"""The loader's fast line cleaning equals the plain definition it replaced, on any bytes.

The NDJSON loader strips a line's byte-order mark and line end, and skips blank lines, with
expressions that only scan the lines that need it (issue 11). Their meaning is the plain
`rtrim(ltrim(try(decode(line)), chr(65279)), chr(10) || chr(13))` and `trim(text) <> ''`;
hypothesis draws lines made of the characters that matter (BOMs, CR, LF, spaces, invalid
UTF-8, multi-byte text) and DuckDB evaluates both forms.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.extract.lines import bytes_lines
from orchestration.load.loader import LINE_TEXT_SQL, NOT_BLANK

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
        select text, {plain}, text is null or {NOT_BLANK}, text is null or trim(text) <> ''
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
