"""Whether a refresh has anything to do: new landing files, or a dbt project that changed.

A refresh with nothing new rebuilt and re-checked everything (about 30 s on the smallest
world, more with history). The marts are a function of the loaded files and the dbt project
alone (the as-of moment comes from the data, never from the clock), so when no landing file
is new and the project is the one the last good publication was built with, the result would
be the same: the command line and the daily schedule skip the run and say why.

After each successful publication, `<warehouse>.last_run.json` records the run and the hash
of the dbt project's files (orchestration/runtime/run_state.py). Files are compared with the
load ledger by path and content hash, the way the loader itself decides what to read.
"""

from __future__ import annotations

from pathlib import Path

from orchestration import settings
from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.landing import discover
from orchestration.ingest.warehouse import LEDGER_TABLE, connect, known_hashes
from orchestration.runtime.run_state import last_run
from orchestration.transform.dbt_manifest import project_sha256


def pending_work(landing: Path, warehouse: str | Path, project: str | None = None) -> list[str]:
    """Return why a refresh is needed; an empty list means it would change nothing.

    ``project`` is the dbt project's hash, by default that of the files in this repository.
    """
    previous = last_run(warehouse)
    if previous is None or not Path(warehouse).exists():
        return ["no successful run is recorded for this warehouse"]
    if previous.project_sha256 != (project or project_sha256()):
        return ["the dbt project changed since the last good run"]
    if previous.engine != settings.dbt_target():
        return [f"the marts were last built on {previous.engine}; RW_DBT_TARGET is now "
                f"{settings.dbt_target()}"]
    with connect(warehouse, read_only=True) as con:
        seen = set(con.execute(
            f"select entity, source_file, file_sha256 from {LEDGER_TABLE}").fetchall())
        known = known_hashes(con)
    reasons = []
    for spec in ENTITIES:
        discovery = discover(landing, spec, known)
        new = [f for f in discovery.files if (spec.table, f.relative, f.sha256) not in seen]
        new += [r for r in discovery.rejected if (spec.table, r.relative, r.sha256) not in seen]
        if new:
            reasons.append(f"{len(new)} new or changed file(s) for {spec.table}")
    return reasons
