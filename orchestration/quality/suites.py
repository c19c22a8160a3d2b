"""Reading the version-controlled suites in `expectations/`.

Each file is a Great Expectations suite in GX's JSON shape (`name`, `expectations` with
`type`, `kwargs`, `meta`), plus what the pipeline needs to run it: in the suite's `meta`, the
asset it checks and the SQL that reads the batch from DuckDB (with a `record_id` column); in
each expectation's `meta`, the rule's name (the reason a failing record is flagged with) and
its severity, `error` (blocks everything downstream) or `warn` (reports and flags).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.dbt_manifest import REPO_ROOT

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
    return SuiteSpec(name=document["name"], asset_key=tuple(meta["asset_key"]),
                     description=meta.get("description", ""), batch_sql=meta["batch_sql"],
                     expectations=tuple(document["expectations"]), path=path)


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[SuiteSpec]:
    """Read every suite in the folder, in name order."""
    return [load_suite(path) for path in sorted(folder.glob("*.json"))]
