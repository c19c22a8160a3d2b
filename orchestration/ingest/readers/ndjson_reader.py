"""NDJSON files (FHIR Bulk Data and GA4 exports): lines split, decoded and parsed in DuckDB.

A batch's files are split into lines in Arrow (orchestration/ingest/readers/line_batches.py),
and every line is decoded, parsed once for all the columns and checked against the contract
in one DuckDB statement: no record passes through Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.readers.batch_view import text_view
from orchestration.ingest.readers.line_batches import batch_lines

if TYPE_CHECKING:
    from orchestration.ingest.landing import LandingFile


def stage_ndjson(con: duckdb.DuckDBPyConnection, spec: EntitySpec,
                 batch: list[LandingFile]) -> Callable[[], None]:
    """Split each file into lines (bytes), then decode, parse and extract in DuckDB.

    A record's number is its physical line number. Nothing a line holds can raise: bytes
    that are not UTF-8, text that is not a JSON object and a document of another resource
    type each become a quarantine reason; a field of the wrong JSON type is drift, which the
    entity's policy settles.
    """
    checks = [("text is null", "'invalid_encoding'", "'line is not valid UTF-8 text'"),
              ("doc is null", "'unparseable_json'", "'line is not a JSON object'")]
    if spec.resource_type:
        found = "doc->>'$.resourceType'"
        checks.append((f"{found} is distinct from '{spec.resource_type}'",
                       "'wrong_resource_type'",
                       f"'resourceType is ' || case when {found} is null then 'missing' "
                       f"when regexp_full_match({found}, '[A-Z][A-Za-z]{{1,40}}') "
                       f"then {found} else 'not a resource type name' end "
                       f"|| ', this file holds {spec.resource_type}'"))
    # A declared field of another JSON type than the contract's is drift: the value is never
    # read as something else (it is NULL), and the entity's drift policy decides the rest.
    mismatches, columns = [], []
    for column in spec.columns:
        expression = column.expression
        if column.json_path and column.json_type:
            found = f"json_type(doc, '{column.json_path}')"
            mismatch = f"coalesce({found}, 'NULL') not in ('NULL', '{column.json_type}')"
            mismatches.append((mismatch, f"'{column.json_path} is ' || {found} || ', the "
                                         f"{spec.table} contract expects {column.json_type}'"))
            expression = f"case when {mismatch} then null else {expression} end"
        columns.append(expression)
    reason = "case " + " ".join(f"when {c} then {r}" for c, r, _ in checks) + " end"
    detail = "case " + " ".join(f"when {c} then {d}" for c, _, d in checks) + " end"
    drift = ("case " + " ".join(f"when {m} then 'data_type'" for m, _ in mismatches) + " end"
             if mismatches else "null")
    drift_detail = ("case " + " ".join(f"when {m} then {d}" for m, d in mismatches) + " end"
                    if mismatches else "null")
    expressions = [reason, detail, drift, drift_detail, *columns]
    casts = ", ".join(f'cast(_e{n + 4} as varchar) as "{c.name}"'
                      for n, c in enumerate(spec.columns))
    # One statement for the whole batch: a statement per file cost about 20 ms a file (a
    # year of GA4 is 366 files).
    lines_table, decoded = utf8_lines(batch_lines([f.path for f in batch]))
    lines = f"""select file_index, line_number, line, text
                from ({LINE_TEXT_SQL.format(lines="_lines", decoded=decoded)})
                where {KEPT_LINE}"""
    return text_view(con, batch, {"_lines": lines_table}, f"""
        select _files.relative as _source_file, line_number as _record_number,
            coalesce(sha256(text), sha256(line)) as _record_hash,
            cast(_e0 as varchar) as _reject_reason, cast(_e1 as varchar) as _reject_detail,
            cast(_e2 as varchar) as _drift, cast(_e3 as varchar) as _drift_detail,
            {casts}
        from ({parse_once_sql(expressions, lines)}) parsed
        join _files on _files.file_index = parsed.file_index""")


def utf8_lines(lines: pa.Table) -> tuple[pa.Table, str]:
    """Return the lines as text when every one is UTF-8, and the SQL that decodes a `line`.

    Arrow checks a whole batch's encoding at once, many times faster than DuckDB decoding
    line by line; only a batch with a line that is not UTF-8 is decoded line by line in SQL
    (`try(decode(line))`), where that line becomes a quarantined record.
    """
    try:
        text = lines.column("line").cast(pa.large_string())
    except pa.ArrowInvalid:
        return lines, "try(decode(line))"
    return lines.set_column(lines.schema.get_field_index("line"), "line", text), "line"


# A line's text: UTF-8 decoded (NULL when it is not), without leading byte-order marks or the
# line's end (LF, CR LF, stray CRs): the same as
# `rtrim(ltrim(try(decode(line)), chr(65279)), chr(10) || chr(13))`, written so that only the
# lines that have something to strip are scanned (DuckDB's rtrim walks the whole string, and
# cost a fifth of the GA4 load). tests/test_ndjson_lines.py holds the two equal.
LINE_TEXT_SQL = """
    select *, case when ends_with(_no_lf, chr(13)) then rtrim(_no_lf, chr(13))
                   else _no_lf end as text
    from (
        select *, case when ends_with(_no_bom, chr(10)) then left(_no_bom, -1)
                       else _no_bom end as _no_lf
        from (
            select *, case when starts_with(_decoded, chr(65279))
                           then ltrim(_decoded, chr(65279)) else _decoded end as _no_bom
            from (select *, {decoded} as _decoded from {lines})
        )
    )"""
# A line is a record unless its text is only spaces: the same as
# `text is null or trim(text) <> ''`, asked of the decoded line rather than of `text`. DuckDB
# pushes a filter down through the projections above, inlining each column it names; a filter
# on `text` computed the whole stripping chain twice more (it cost two fifths of the GA4 load).
# Blank means: byte-order marks, then spaces, then carriage returns, then the line feed.
KEPT_LINE = r"(_decoded is null or not regexp_full_match(_decoded, '\x{FEFF}* *\r*\n?'))"

TEXT_PATH = re.compile(r"doc->>'(\$[^']*)'")
JSON_PATH = re.compile(r"doc->'(\$[^']*)'")
TYPE_OF_PATH = re.compile(r"json_type\(doc, '(\$[^']*)'\)")
ARRAY_CAST = re.compile(r"try_cast\(_j\[(\d+)\] as json\[\]\)")
TYPED_JSON = re.compile(r"from_json\(_j\[(\d+)\], '[^']*'\)")


def parse_once_sql(expressions: list[str], lines: str) -> str:
    """Return ``lines`` (a query with a `text` column) with each expression as `_e0`, `_e1`...

    The expressions read the line's JSON as `doc` (`doc->>'$.p'`, `doc->'$.p'`,
    `json_type(doc, '$.p')`, `doc is null` for a line that is not a JSON object); each line
    is parsed once for all of them (`_parse_once`). tests/test_ndjson_lines.py holds the
    result equal to evaluating the expressions on the parsed document directly.
    """
    rewritten, (values, arrays) = _parse_once(expressions)
    results = ", ".join(f"{e} as _e{n}" for n, e in enumerate(rewritten))
    return f"""
        select *, {results} from (
            select *, {arrays} from (
                select *, {values} from (
                    select *,
                        -- A valid JSON text that starts with a brace is an object.
                        starts_with(ltrim(text, ' ' || chr(9)), '{{') and json_valid(text)
                            as is_object
                    from ({lines})
                )
            )
        )"""


def _parse_once(expressions: list[str]) -> tuple[list[str], tuple[str, str]]:
    """Rewrite expressions over `doc` so each line's JSON is parsed as few times as possible.

    Returns the expressions and the two projections that parse (the document's values, then
    its arrays). DuckDB's JSON is text: every `->>`, `->` and `json_type(doc, path)` parses
    the whole document again; with twenty columns and their type checks that dominated.
    The text paths (`doc->>'$.p'`) go into one `json_extract_string(text, [...])` per line and
    each use reads `_s[i]`; the paths read as JSON (`doc->'$.p'`, `json_type(doc, '$.p')`)
    into one `json_extract(text, [...])`, read as `_j[i]`. Asking for text directly saves
    re-parsing each extracted value (`_j[i]->>'$'` cost a third of the extraction). An array
    cast as `json[]`, or a value read into a typed structure (`from_json(doc->'$.p', '...')`:
    GA4's event_params, read once per parameter), is computed once per line, in a second
    projection. Projections, not lateral joins: DuckDB turns a lateral join into a join,
    which cost more than the parse.

    Only a line `is_object` (a JSON object, checked by `json_valid`) is extracted; its
    extraction is still wrapped in `try`. Guarding with `json_valid` first matters for speed:
    when an expression under `try` fails anywhere in a vector, DuckDB evaluates that vector
    again row by row, and with one malformed line in a thousand that was most vectors (the
    extraction took 2.5 times as long).
    """
    json_paths: list[str] = []
    text_paths: list[str] = []

    def slot(paths: list[str], name: str, path: str) -> str:
        if path not in paths:
            paths.append(path)
        return f"{name}[{paths.index(path) + 1}]"

    rewritten = []
    for expression in expressions:
        expression = TYPE_OF_PATH.sub(
            lambda m: f"json_type({slot(json_paths, '_j', m.group(1))})", expression)
        expression = TEXT_PATH.sub(lambda m: slot(text_paths, "_s", m.group(1)), expression)
        expression = JSON_PATH.sub(lambda m: slot(json_paths, "_j", m.group(1)), expression)
        expression = expression.replace("doc is null", "_unparsed")
        if re.search(r"\bdoc\b", expression):
            raise ValueError(f"an expression reads the document in a way the parser does not "
                             f"share: {expression[:80]}")
        rewritten.append(expression)
    hoisted: list[str] = []

    def hoist(match: re.Match[str]) -> str:
        if match.group(0) not in hoisted:
            hoisted.append(match.group(0))
        return f"_h{hoisted.index(match.group(0))}"

    rewritten = [TYPED_JSON.sub(hoist, ARRAY_CAST.sub(hoist, expression))
                 for expression in rewritten]
    values, parsed = [], ["is_object"]
    for name, function, paths in (("_j", "json_extract", json_paths),
                                  ("_s", "json_extract_string", text_paths)):
        if paths:
            path_list = "[" + ", ".join("'" + p + "'" for p in paths) + "]"
            values.append(f"case when is_object then try({function}(text, {path_list})) end "
                          f"as {name}")
            parsed.append(f"{name} is not null")
    unparsed = f"not coalesce({' and '.join(parsed)}, false) as _unparsed"
    casts = [f"{expression} as _h{n}" for n, expression in enumerate(hoisted)]
    return rewritten, (", ".join(values or ["null as _no_paths"]), ", ".join([unparsed, *casts]))
