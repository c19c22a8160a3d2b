"""Reading the version-controlled suites in `expectations/`.

Each file is a Great Expectations suite in GX's JSON shape (`name`, `expectations` with
`type`, `kwargs`, `meta`), plus what the pipeline needs to run it: in the suite's `meta`, the
asset it checks and the SQL that reads the batch from DuckDB (with a `record_id` column); in
each expectation's `meta`, the rule's name (the reason a failing record is flagged with) and
its severity, `error` (blocks everything downstream) or `warn` (reports and flags).

Code lists live in `seeds/`, nowhere else: an expectation whose meta says
`"value_set_seed": "<seed>.<column>"` gets its `value_set` from that seed's column when the
suite is read, so a suite can never disagree with the seed the models join.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.settings import REPO_ROOT, SEEDS_DIR

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
SEVERITIES = ("error", "warn")


@dataclass(frozen=True)
class SuiteSpec:
    """One suite: its name, the asset it checks, its batch query and its expectations."""

    name: str
    asset_key: tuple[str, ...]
    description: str
    batch_sql: str
    expectations: tuple[dict[str, Any], ...]
    path: Path

    @property
    def columns_read(self) -> frozenset[str]:
        """Return the batch columns the expectations name (`column`, `column_list`...)."""
        names: set[str] = set()
        for expectation in self.expectations:
            for key, value in expectation["kwargs"].items():
                if key.startswith("column"):
                    names.update([value] if isinstance(value, str) else value)
        return frozenset(names)

    @property
    def has_error_rules(self) -> bool:
        """Return whether any expectation is error severity (the check then blocks)."""
        return any(e["meta"]["severity"] == "error" for e in self.expectations)


def load_suite(path: Path) -> SuiteSpec:
    """Read one suite file, checking the fields the pipeline relies on."""
    document = json.loads(path.read_text(encoding="utf-8"))
    meta = document.get("meta", {})
    for key in ("asset_key", "batch_sql"):
        if key not in meta:
            raise ValueError(f"{path.name}: suite meta lacks `{key}`")
    for number, expectation in enumerate(document["expectations"], start=1):
        severity = expectation.get("meta", {}).get("severity")
        if severity not in SEVERITIES or not expectation["meta"].get("rule"):
            raise ValueError(f"{path.name}: expectation {number} needs meta.rule and "
                             f"meta.severity in {SEVERITIES}")
    expectations = tuple(_with_seed_value_set(path, e) for e in document["expectations"])
    return SuiteSpec(name=document["name"], asset_key=tuple(meta["asset_key"]),
                     description=meta.get("description", ""), batch_sql=meta["batch_sql"],
                     expectations=expectations, path=path)


def seed_values(reference: str) -> list[str]:
    """The distinct values of a seed's column, in file order: `"<seed>.<column>"`."""
    seed, _, column = reference.partition(".")
    with (SEEDS_DIR / f"{seed}.csv").open(encoding="utf-8", newline="") as handle:
        values = [row[column] for row in csv.DictReader(handle)]
    return list(dict.fromkeys(values))


def _with_seed_value_set(path: Path, expectation: dict[str, Any]) -> dict[str, Any]:
    """Fill `kwargs.value_set` from the seed the expectation's meta names, if any."""
    reference = expectation["meta"].get("value_set_seed")
    if reference is None:
        return expectation
    if "value_set" in expectation["kwargs"]:
        raise ValueError(f"{path.name}: `{expectation['meta']['rule']}` names a seed and a "
                         "value_set; the seed is the list's one home")
    try:
        values = seed_values(reference)
    except (OSError, KeyError) as error:
        raise ValueError(f"{path.name}: `{expectation['meta']['rule']}` names seed column "
                         f"`{reference}`, which does not exist") from error
    return {**expectation, "kwargs": {**expectation["kwargs"], "value_set": values}}


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[SuiteSpec]:
    """Read every suite in the folder, in name order."""
    return [load_suite(path) for path in sorted(folder.glob("*.json"))]
