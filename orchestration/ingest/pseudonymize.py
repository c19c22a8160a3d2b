"""Keyed hashing of patient and visitor identifiers, applied before anything reaches the warehouse.

HMAC-SHA256 with a secret key: the same identifier always maps to the same key (so joins
work across sources), but without the secret nobody can recompute the mapping from a list of
MRNs. The key comes from an environment variable; only demo mode, meant for generated data,
may fall back to a published demo key.

Each kind of identifier (an MRN, a FHIR Patient id, an e-mail address, a web client id, …)
is hashed with its own key, derived from the one secret with HKDF (RFC 5869) and the kind's
name as label: an MRN and a web client id that happen to be the same string never get the
same hash, and a hash of one kind cannot be tried against another. Columns that join name the
same kind. A fingerprint of the secret (derived the same way, one-way) is stored in the
warehouse, so a run with another key is refused instead of silently breaking every join
(orchestration/ingest/key_fingerprint.py).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import string
from functools import cache, lru_cache

import duckdb
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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
DERIVATION_LABEL = "referral-warehouse pseudonym v1: "
FINGERPRINT_LABEL = "referral-warehouse key fingerprint v1"

# The kinds of identifier hashed, each with its own derived key. Columns that join one
# another name the same kind (an EHR Patient's mrn_key and scheduling's patient_mrn_key).
FHIR_PATIENT_ID = "fhir_patient_id"   # a FHIR Patient's logical id (references join it)
MRN = "mrn"                           # the medical record number (PID-3, identifier type MR)
PATIENT_IDENTIFIER = "patient_identifier"  # system|value of a business identifier (NHS number)
EMAIL = "email"                       # an intake lead's e-mail address
WEB_USER_ID = "web_user_id"           # GA4 user_id set by the site (a portal login)
WEB_CLIENT_ID = "web_client_id"       # GA4 user_pseudo_id, the CRM lead's ga_client_id
IDENTIFIER_TYPES = (FHIR_PATIENT_ID, MRN, PATIENT_IDENTIFIER, EMAIL, WEB_USER_ID,
                    WEB_CLIENT_ID)


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


def derive_key(secret: bytes, label: str, length: int = 32) -> bytes:
    """Return the key for one label: HKDF-SHA256 of the secret, the label as `info`."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=label.encode("utf-8")).derive(secret)


class Pseudonymizer:
    """Maps identifiers to keyed hashes, one derived key per kind; in Python and in DuckDB SQL."""

    def __init__(self, key: str) -> None:
        self._secret = key.encode("utf-8")
        self._keys = cache(self._key_for)
        # A one-way fingerprint of the secret (16 hex digits) to recognise it by.
        self.fingerprint = derive_key(self._secret, FINGERPRINT_LABEL, 8).hex()
        # Identifiers repeat (a patient in every resource, a browser in every event).
        self._hash = lru_cache(maxsize=1 << 18)(self._hash_once)

    def _key_for(self, identifier_type: str) -> bytes:
        if identifier_type not in IDENTIFIER_TYPES:
            raise ValueError(f"unknown identifier type {identifier_type!r}; "
                             f"one of {', '.join(IDENTIFIER_TYPES)}")
        return derive_key(self._secret, DERIVATION_LABEL + identifier_type)

    def __call__(self, value: str | None, identifier_type: str) -> str | None:
        """Return the keyed hash of one identifier (first 32 hex digits of HMAC-SHA256)."""
        if value is None:
            return None
        return self._hash(value, identifier_type)

    def _hash_once(self, value: str, identifier_type: str) -> str:
        key = self._keys(identifier_type)
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def _pads(self, identifier_type: str) -> tuple[bytes, bytes]:
        """Return HMAC's inner and outer pads of a kind's key (RFC 2104: the key XOR 0x36, 0x5c)."""
        key = self._keys(identifier_type).ljust(hashlib.sha256().block_size, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make `pseudonymize(type, value)` available in SQL on this connection (replacing any).

        DuckDB computes the HMAC itself, SHA-256((K ^ opad) || SHA-256((K ^ ipad) || m)) as
        RFC 2104 defines it, so identifiers are hashed on every core. A Python function did
        it before: it held the interpreter lock and ran on one core while the rest of the
        statement waited (a sixth of the GA4 load). The result is the same as `__call__`'s,
        which tests/test_pseudonymize_sql.py holds for any text and every kind.

        The pads are rows of a temporary table, filled with bound parameters under a name of
        the key's own fingerprint: never a literal in SQL text, which DuckDB may quote in an
        error message, and never in the warehouse file. `pseudonymize` is a macro, so another
        key's registration replaces it.
        """
        pads = f"_pseudonym_pads_{self.fingerprint}"
        con.execute(f"create temp table if not exists {pads} "
                    "(identifier_type varchar, inner_pad blob, outer_pad blob)")
        if not con.execute(f"select count(*) from {pads}").fetchone()[0]:
            con.executemany(f"insert into {pads} values (?, ?, ?)",
                            [(kind, *self._pads(kind)) for kind in IDENTIFIER_TYPES])

        def pad(which: str) -> str:
            return f"(select {which} from {pads} p where p.identifier_type = kind)"

        con.execute(f"""create or replace temp macro pseudonymize(kind, identifier) as
            left(sha256({pad("outer_pad")}
                        || unhex(sha256({pad("inner_pad")} || encode(identifier)))), 32)""")
