"""The NPI rule as each engine reads it, against the rule worked out in Python.

`is_valid_npi` (dbt_project/macros/npi_check_digit.sql, behind the `valid_npi` data test) is
written per engine: a regular expression for "ten ASCII digits", then the check digit. The
values below are the ones where engines' regular expressions and casts part ways: a line
break after the digits (Java's `$` matches before one, so Spark took it), one before them,
digits of another script, a space, one digit too few or too many. dbt runs the macro itself
(`dbt show --inline`), on whichever engine the environment names.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_project import dbt_executable
from source_simulator.npi import luhn_check_digit

VALUES = ["1234567893", "1234567893\n", "\n1234567893", "1234567893\r", " 1234567893",
          "123456789", "12345678930", "1234567890", "12345678a3",
          "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0663", None]


def expected(npi: str | None) -> bool | None:
    """Ten ASCII digits whose last is the Luhn digit of 80840 and the first nine (CMS)."""
    if npi is None:
        return None
    if len(npi) != 10 or not all(c in "0123456789" for c in npi):
        return False
    return int(npi[9]) == luhn_check_digit("80840" + npi[:9])


def _literal(value: str | None) -> str:
    """SQL text for a value, with a line break or carriage return written as chr()."""
    if value is None:
        return "cast(null as {{ dbt.type_string() }})"
    pieces = []
    for part in value.replace("\r", "\0\r\0").replace("\n", "\0\n\0").split("\0"):
        if part in ("\n", "\r"):
            pieces.append(f"chr({ord(part)})")
        elif part:
            pieces.append("'" + part.replace("'", "''") + "'")
    return pieces[0] if len(pieces) == 1 else f"concat({', '.join(pieces)})"


def engine_verdicts(env: dict[str, str], target_path: Path) -> list[bool | None]:
    """Return `is_valid_npi` of each of VALUES as the engine in ``env`` computes it."""
    rows = " union all ".join(f"select {n} as n, {_literal(v)} as npi"
                              for n, v in enumerate(VALUES))
    query = f"select n, {{{{ is_valid_npi('npi') }}}} as ok from ({rows}) as npis"
    done = subprocess.run(
        [dbt_executable(), "show", "--inline", query, "--limit", "-1", "--output", "json",
         "--log-format", "json", "--project-dir", str(REPO_ROOT),
         "--profiles-dir", str(REPO_ROOT / "profiles"), "--target-path", str(target_path)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    for line in done.stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        if event.get("info", {}).get("name") == "ShowNode":
            shown = json.loads(event["data"]["preview"])
            return [row["ok"] for row in sorted(shown, key=lambda row: row["n"])]
    raise AssertionError("dbt show printed no rows: " + done.stdout[-2000:])
