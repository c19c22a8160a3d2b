"""The pseudonymization key a warehouse was built with, recognised by its fingerprint.

Every keyed hash in a warehouse joins only to hashes made with the same secret. A run with
another key (a typo, a second machine's key, a key rotated without a rebuild) would load new
records whose patients match none already loaded, and every funnel would quietly split in
two. So the first load records the key's fingerprint (one-way: derived from the secret with
HKDF, it reveals nothing of it) and every later load compares: a different key is refused
with a message naming both fingerprints, before a record is read. Changing the key is a
rebuild from the landing folder into a new warehouse (`referral-warehouse rekey`,
docs/runbook.md).
"""

from __future__ import annotations

import duckdb

from orchestration.ingest.load_errors import ConfigurationError
from orchestration.ingest.pseudonymize import KEY_ENV_VAR, Pseudonymizer

KEY_TABLE = "raw._pseudonymization_key"
KEY_DDL = f"""
create table if not exists {KEY_TABLE} (
    fingerprint varchar not null,
    first_run_id varchar,
    recorded_at timestamptz not null
)"""


def recorded_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """Return the fingerprint of the key this warehouse was built with, if one is recorded.

    Reads only, so it works on a read-only connection to any warehouse, however old.
    """
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'raw' "
                         "and table_name = '_pseudonymization_key'").fetchone()[0]
    if not exists:
        return None
    return con.execute(f"select min(fingerprint) from {KEY_TABLE}").fetchone()[0]


def _has_loaded_records(con: duckdb.DuckDBPyConnection) -> bool:
    ledger = con.execute("select count(*) from duckdb_tables() where schema_name = 'raw' "
                         "and table_name = '_load_ledger'").fetchone()[0]
    return bool(ledger) and con.execute(
        "select count(*) > 0 from raw._load_ledger where rows_loaded > 0").fetchone()[0]


def check_key(con: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer,
              run_id: str | None = None) -> None:
    """Record the key's fingerprint on first use; refuse a key other than the recorded one."""
    con.execute("create schema if not exists raw")
    con.execute(KEY_DDL)
    recorded = recorded_fingerprint(con)
    current = pseudonymizer.fingerprint
    if recorded is None and _has_loaded_records(con):
        raise ConfigurationError(
            "this warehouse holds records keyed before key fingerprints were recorded (and "
            "before one key per kind of identifier), so no key can be checked against it: "
            "rebuild it from the landing folder (move it aside and run, or "
            "`referral-warehouse rekey`, docs/runbook.md).")
    if recorded is None:
        con.execute(f"insert into {KEY_TABLE} values (?, ?, now())", [current, run_id])
    elif recorded != current:
        raise ConfigurationError(
            f"{KEY_ENV_VAR} is not the key this warehouse was built with (its fingerprint "
            f"is {recorded}, this key's is {current}). Its hashes would join none of the "
            "patients already loaded. Set the warehouse's own key, or move the warehouse to "
            "the new key with `referral-warehouse rekey` (docs/runbook.md, \"Rotating the "
            "pseudonymization key\").")
