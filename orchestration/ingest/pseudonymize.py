"""Keyed hashing of patient identifiers, applied before anything reaches the warehouse.

HMAC-SHA256 with a secret key: the same identifier always maps to the same key (so joins
work across sources), but without the secret nobody can recompute the mapping from a list of
MRNs. The key comes from an environment variable; only demo mode, meant for generated data,
may fall back to a published demo key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import string

import duckdb
import pyarrow as pa

from orchestration.ingest.load_errors import ConfigurationError

KEY_ENV_VAR = "RW_PSEUDONYMIZATION_KEY"
DEMO_ENV_VAR = "RW_DEMO_MODE"
DEMO_KEY = "DEMO-ONLY-referral-warehouse-key-never-use-with-real-patients"
MIN_KEY_BITS = 256  # 32 bytes of entropy, what `openssl rand -hex 32` gives
MIN_DISTINCT_CHARACTERS = 10
HOW_TO_MAKE_ONE = "make one with `openssl rand -hex 32` and keep it out of version control"
_ALPHABETS = (  # character classes a key may draw from, with their sizes
    (frozenset(string.digits), 10), (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
)
_HEX = (frozenset("0123456789abcdef"), frozenset("0123456789ABCDEF"))


def key_entropy_bits(key: str) -> float:
    """Return an upper bound on a key's entropy: length x log2(size of its alphabet).

    A hexadecimal key draws from 16 symbols; otherwise the alphabet is the union of the
    character classes (digits, lower case, upper case, other printable) the key uses. A
    human-chosen phrase scores far above its real entropy, which is why a key must also use
    many distinct characters; the rule stops the mistakes seen in practice (a short key, a
    placeholder, one character repeated), not a determined guesser.
    """
    characters = set(key)
    if not characters:
        return 0.0
    if any(characters <= hex_digits for hex_digits in _HEX):
        alphabet = 16
    else:
        alphabet = sum(size for members, size in _ALPHABETS if characters & members)
        if characters - frozenset().union(*(members for members, _ in _ALPHABETS)):
            alphabet += 33  # punctuation and space
    return len(key) * math.log2(alphabet) if alphabet > 1 else 0.0


def validate_key(key: str) -> None:
    """Raise a ConfigurationError naming what is wrong with a real pseudonymization key."""
    if key == DEMO_KEY:
        raise ConfigurationError(
            f"{KEY_ENV_VAR} is the published demo key, which anyone can use to re-identify "
            f"hashes; outside demo mode ({DEMO_ENV_VAR}=1, generated data only) it is "
            f"refused: {HOW_TO_MAKE_ONE}.")
    distinct = len(set(key))
    bits = key_entropy_bits(key)
    if bits < MIN_KEY_BITS or distinct < MIN_DISTINCT_CHARACTERS:
        raise ConfigurationError(
            f"{KEY_ENV_VAR} is too weak: {len(key)} characters, {distinct} distinct, at most "
            f"{bits:.0f} bits of entropy; a key needs at least {MIN_KEY_BITS // 8} bytes of "
            f"entropy and {MIN_DISTINCT_CHARACTERS} distinct characters: {HOW_TO_MAKE_ONE}.")


def resolve_key(environ: dict[str, str] | None = None) -> tuple[str, bool]:
    """Return (key, is_demo_key) from the environment, or raise a ConfigurationError.

    In demo mode the demo key is used unless a key is set; a key that is set is always
    validated, so a weak key never slips through because demo mode happened to be on.
    """
    environ = dict(os.environ) if environ is None else environ
    key = environ.get(KEY_ENV_VAR, "")
    demo = environ.get(DEMO_ENV_VAR, "").lower() in {"1", "true", "yes"}
    if key:
        if demo and key == DEMO_KEY:
            return DEMO_KEY, True
        validate_key(key)
        return key, False
    if demo:
        return DEMO_KEY, True
    raise ConfigurationError(
        f"{KEY_ENV_VAR} is not set. Patient identifiers are pseudonymized with this secret "
        f"key: {HOW_TO_MAKE_ONE}; or set {DEMO_ENV_VAR}=1 to use the demo key with "
        "generated demo data only.")


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
