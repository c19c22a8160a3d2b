"""Transform: every dbt seed, model and snapshot, built by one `dbt build` per run."""

from __future__ import annotations

import dagster as dg

from orchestration.transform.dbt_assets import build_dbt_assets
from orchestration.transform.dbt_project import dbt_project


def defs() -> dg.Definitions:
    """Return the dbt assets of the project, prepared on first use."""
    return dg.Definitions(assets=[build_dbt_assets(dbt_project())])
