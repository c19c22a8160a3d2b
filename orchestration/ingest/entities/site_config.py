"""The site's identifier systems: referral numbers, patients' and national ids.

A referral number may be our EHR's own (an OID) or an e-RS UBRN; a clinician may carry an
NPI or an SDS user id. Which systems a site's feeds use is configuration, not code: its one
home is `seeds/identifier_systems.csv` (documented in docs/sources.md), which dbt also loads
as a seed. The extractor reads it because identifiers are chosen, and patients' hashed, when a
record is loaded. A change applies to records loaded after it: rebuild from the landing
folder (docs/runbook.md) to apply it to what is loaded already.
"""

from __future__ import annotations

import csv
from functools import cache

from orchestration.settings import SEEDS_DIR

IDENTIFIER_SYSTEMS_SEED = SEEDS_DIR / "identifier_systems.csv"
KINDS = ("referral_number", "patient", "practitioner", "organization")


@cache
def identifier_systems(kind: str) -> tuple[str, ...]:
    """Return the identifier systems of one kind, highest priority first."""
    if kind not in KINDS:
        raise ValueError(f"identifier kind {kind!r} is not one of {', '.join(KINDS)}")
    with IDENTIFIER_SYSTEMS_SEED.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["identifier_kind"] == kind]
    return tuple(row["identifier_system"] for row in sorted(rows, key=lambda r: int(r["priority"])))
