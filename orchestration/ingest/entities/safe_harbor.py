"""HIPAA Safe Harbor's generalizations, applied when a record is extracted.

45 CFR 164.514(b)(2)(i) lets a data set keep the first three digits of a ZIP code only where
the area they make holds more than 20,000 people; the others are replaced by `000`. The
restricted areas are a list HHS publishes from the Census; its one home is
`seeds/restricted_zip3.csv`, which dbt also loads as a seed. Ages over 89, and any date
element (a birth year) that shows one, must be folded into a single "90 or older" category.
Free text a person typed may name anyone: only whether there was some is kept.

Age is judged at the load date (the data set's as-of date: a record is extracted when it is
loaded). Only the birth year is known, so a birth year B loaded in year Y is folded when
Y - B >= 90: someone who may already be 90 loses the year too, never the other way round. A
warehouse rebuilt later folds at least as many (docs/privacy.md).
"""

from __future__ import annotations

import csv
from functools import cache

from orchestration.settings import SEEDS_DIR

RESTRICTED_ZIP3_SEED = SEEDS_DIR / "restricted_zip3.csv"
RESTRICTED_ZIP3_REPLACEMENT = "000"
OLDEST_AGE_KEPT = 89


@cache
def restricted_zip3() -> tuple[str, ...]:
    """Return the 3-digit ZIP areas Safe Harbor replaces by 000, from the seed."""
    with RESTRICTED_ZIP3_SEED.open(newline="", encoding="utf-8") as handle:
        return tuple(sorted(row["zip3"].strip() for row in csv.DictReader(handle)))


def zip3(postal_code: str) -> str:
    """SQL for a postal code's first three characters, `000` for a restricted area."""
    first_three = f"left(trim({postal_code}), 3)"
    restricted = ", ".join(f"'{area}'" for area in restricted_zip3())
    return (f"case when {first_three} in ({restricted}) then '{RESTRICTED_ZIP3_REPLACEMENT}' "
            f"else nullif({first_three}, '') end")


def has_text(free_text: str) -> str:
    """SQL for whether a free-text field holds anything: the flag kept instead of the text."""
    return f"nullif(trim({free_text}), '') is not null"


def _year(date_text: str) -> str:
    return f"try_cast(left(trim({date_text}), 4) as integer)"


def birth_year(date_text: str) -> str:
    """SQL for the birth year of a date's text, null when it could show an age over 89."""
    return (f"case when year(current_date) - {_year(date_text)} > {OLDEST_AGE_KEPT} then null "
            f"else left(trim({date_text}), 4) end")


def aged_90_or_older(date_text: str) -> str:
    """SQL for Safe Harbor's one category of the oldest: true when the year is folded."""
    return (f"case when {_year(date_text)} is null then null "
            f"else year(current_date) - {_year(date_text)} > {OLDEST_AGE_KEPT} end")
