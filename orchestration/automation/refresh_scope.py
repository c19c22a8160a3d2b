"""What a refresh runs: the load steps of the sources with new files, and what is downstream.

A day of GA4 events used to re-run all 18 load steps, every raw and mart suite and all of
dbt's 60 models and their tests, though no referral mart reads web events. Dagster knows the
asset graph, and dagster-dbt turns a subset of the dbt assets into a `dbt build --select`
of just those models (their tests follow by dbt's indirect selection), so the refresh is the
raw assets of the pending entities (orchestration/automation/pending_work.py) and everything
downstream of them: their suites, the staged, intermediate and mart models that read them,
and the publication. What is not selected keeps the tables, verdicts and flags of the run
that last built it, which saw the same inputs.

Everything runs when the pending work names no entities (the first run, a changed dbt
project or engine) or when the run is forced.
"""

from __future__ import annotations

import dagster as dg

from orchestration.automation.pending_work import PendingWork
from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.extract_assets import raw_asset_key


def refresh_selection(job: dg.JobDefinition, work: PendingWork | None
                      ) -> list[dg.AssetKey] | None:
    """Return the asset keys a refresh of ``work`` needs within ``job``; None: all of them."""
    if work is None or work.entities is None:
        return None
    tables = set(work.entities)
    raw = [raw_asset_key(spec) for spec in ENTITIES if spec.table in tables]
    in_job = job.asset_layer.asset_graph
    selected = dg.AssetSelection.assets(*raw).downstream().resolve(in_job)
    return sorted(selected & in_job.executable_asset_keys)
