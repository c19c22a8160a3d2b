"""Whether a refresh has anything to do, and which sources it has to do it for.

A refresh with nothing new rebuilt and re-checked everything (about 30 s on the smallest
world, more with history). The marts are a function of the loaded files and the dbt project
alone (the as-of moment comes from the data, never from the clock), so when no landing file
is new and the project is the one the last good publication was built with, the result would
be the same: the command line and the daily schedule skip the run and say why.

When only some sources have new files, only their load steps and what is downstream of
them need to run (`PendingWork.entities`; the command line turns it into an asset
selection, orchestration/automation/refresh_scope.py): a day of GA4 events changes no
referral mart, and re-loading, re-checking and rebuilding the rest cost most of such a run.

After each successful publication, `<warehouse>.last_run.json` records the run, the hash
of the dbt project's files and how far the load ledger had got (orchestration/runtime/
run_state.py). Files are compared with the load ledger by path and content hash, the way the
loader itself decides what to read; an entity the ledger shows loaded after that mark (by a
run that failed before it published) is pending too, so its models are rebuilt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration import settings
from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.landing import discover
from orchestration.ingest.warehouse import LEDGER_TABLE, connect, known_hashes
from orchestration.runtime.run_state import last_run
from orchestration.transform.dbt_manifest import project_sha256


@dataclass(frozen=True)
class PendingWork:
    """Why a refresh is needed (empty: it would change nothing), and for which entities.

    ``entities`` are the raw tables with new work when only those need a refresh; None when
    everything does (no good run recorded, another project or engine).
    """

    reasons: list[str]
    entities: tuple[str, ...] | None


def pending(landing: Path, warehouse: str | Path, project: str | None = None) -> PendingWork:
    """Return what a refresh would have to do.

    ``project`` is the dbt project's hash, by default that of the files in this repository.
    """
    previous = last_run(warehouse)
    if previous is None or not Path(warehouse).exists():
        return PendingWork(["no successful run is recorded for this warehouse"], None)
    if previous.project_sha256 != (project or project_sha256()):
        return PendingWork(["the dbt project changed since the last good run"], None)
    if previous.engine != settings.dbt_target():
        return PendingWork([f"the marts were last built on {previous.engine}; RW_DBT_TARGET "
                            f"is now {settings.dbt_target()}"], None)
    with connect(warehouse, read_only=True) as con:
        seen = set(con.execute(
            f"select entity, source_file, file_sha256 from {LEDGER_TABLE}").fetchall())
        known = known_hashes(con)
        unpublished = dict(con.execute(
            f"select entity, count(distinct source_file) from {LEDGER_TABLE} "
            "where loaded_at > ? group by entity", [previous.ledger_loaded_through]).fetchall()
        ) if previous.ledger_loaded_through else {}
    reasons, entities = [], []
    for spec in ENTITIES:
        discovery = discover(landing, spec, known)
        new = [f for f in discovery.files if (spec.table, f.relative, f.sha256) not in seen]
        new += [r for r in discovery.rejected if (spec.table, r.relative, r.sha256) not in seen]
        if new:
            reasons.append(f"{len(new)} new or changed file(s) for {spec.table}")
        if spec.table in unpublished:
            reasons.append(f"{unpublished[spec.table]} file(s) for {spec.table} loaded by a run "
                           "that did not publish")
        if new or spec.table in unpublished:
            entities.append(spec.table)
    return PendingWork(reasons, tuple(entities))


def pending_work(landing: Path, warehouse: str | Path, project: str | None = None) -> list[str]:
    """Return why a refresh is needed; an empty list means it would change nothing."""
    return pending(landing, warehouse, project).reasons
