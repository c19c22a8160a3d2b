"""Keyed hashing of patient identifiers, applied before anything reaches the warehouse.

HMAC-SHA256 with a secret key: the same identifier always maps to the same key (so joins
work across sources), but without the secret nobody can recompute the mapping from a list of
MRNs. The key comes from an environment variable; only demo mode, meant for generated data,
may fall back to a published demo key.
"""

from __future__ import annotations

import hashlib
import hmac
import os

import duckdb
import pyarrow as pa

from orchestration.load.errors import ConfigurationError

KEY_ENV_VAR = "RW_PSEUDONYMIZATION_KEY"
DEMO_ENV_VAR = "RW_DEMO_MODE"
DEMO_KEY = "DEMO-ONLY-referral-warehouse-key-never-use-with-real-patients"
MIN_KEY_LENGTH = 16


def resolve_key(environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """Return (key, is_demo_key) from the environment, or raise a ConfigurationError."""
    environ = dict(os.environ) if environ is None else environ
    key = environ.get(KEY_ENV_VAR, "")
    if key:
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"{KEY_ENV_VAR} is {len(key)} characters; use at least {MIN_KEY_LENGTH} "
                "random characters (for example `openssl rand -hex 32`).")
        return key, False
    if environ.get(DEMO_ENV_VAR, "").lower() in {"1", "true", "yes"}:
        return DEMO_KEY, True
    raise ConfigurationError(
        f"{KEY_ENV_VAR} is not set. Patient identifiers are pseudonymized with this secret "
        f"key; set it (at least {MIN_KEY_LENGTH} characters, kept out of version control), "
        f"or set {DEMO_ENV_VAR}=1 to use the demo key with generated demo data only.")


class Pseudonymizer:
    """Maps identifiers to keyed hashes; registers itself as a DuckDB function."""

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def __call__(self, value: str | None) -> str | None:
        """Return the keyed hash of one identifier (first 32 hex digits of HMAC-SHA256)."""
        if value is None:
            return None
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:32]

    def _arrow(self, values: pa.Array) -> pa.Array:
        return pa.array([self(v) for v in values.to_pylist()], type=pa.string())

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make `pseudonymize(varchar)` available in SQL on this connection (replacing any)."""
        try:
            con.remove_function("pseudonymize")
        except duckdb.InvalidInputException:
            pass  # not registered yet on this connection
        con.create_function("pseudonymize", self._arrow, [duckdb.sqltype("VARCHAR")],
                            duckdb.sqltype("VARCHAR"), type="arrow", side_effects=False)
