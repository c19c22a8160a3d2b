"""The loader's SQL pseudonymization is the Python HMAC, for any text and every kind.

The loader hashes identifiers in DuckDB (`Pseudonymizer.register`: HMAC-SHA256 from DuckDB's
own sha256, RFC 2104), the Python `Pseudonymizer.__call__` is the reference the key-derivation
test pins to `hmac`. A difference would split one patient into two keys across sources.
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestration.ingest.pseudonymize import IDENTIFIER_TYPES, Pseudonymizer
from tests.conftest import TEST_KEY

PSEUDONYMIZER = Pseudonymizer(TEST_KEY)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    PSEUDONYMIZER.register(connection)
    yield connection
    connection.close()


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.text(max_size=80),
                                 st.text(alphabet="0123456789", min_size=1, max_size=12)),
                       min_size=1, max_size=30),
       kind=st.sampled_from(IDENTIFIER_TYPES))
def test_sql_and_python_hash_every_value_alike(con, values, kind) -> None:
    con.execute("create or replace temp table _values (position integer, value varchar)")
    con.executemany("insert into _values values (?, ?)", list(enumerate(values)))
    hashed = con.execute("select pseudonymize(?, value) from _values order by position",
                         [kind]).fetchall()
    assert [h for (h,) in hashed] == [PSEUDONYMIZER(v, kind) for v in values]


def test_another_keys_registration_replaces_the_macro_and_keeps_no_key_in_sql(con) -> None:
    other = Pseudonymizer("another-key-0123456789abcdef")
    fresh = duckdb.connect()
    PSEUDONYMIZER.register(fresh)
    other.register(fresh)
    assert fresh.execute("select pseudonymize('mrn', '12345')").fetchone()[0] == other(
        "12345", "mrn") != PSEUDONYMIZER("12345", "mrn")
    # The macro's text names the pads' table, never the key or its pads.
    macro = fresh.execute("select macro_definition from duckdb_functions() "
                          "where function_name = 'pseudonymize'").fetchone()[0]
    pads = other._pads("mrn")
    assert pads[0].hex() not in macro.lower() and "another-key" not in macro
    assert other.fingerprint in macro
