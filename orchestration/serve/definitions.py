"""Serve: the read-only copy of the marts that BI tools and the dashboard read."""

from __future__ import annotations

import dagster as dg

from orchestration import settings
from orchestration.serve.serving_asset import serving_copy


def defs() -> dg.Definitions:
    """Return the serving copy's asset, on DuckDB only.

    The copy and the suites of staged and mart tables read DuckDB, so they are part of the
    DuckDB deployment only (docs/scale-out.md).
    """
    on_duckdb = settings.dbt_target() == settings.DEFAULT_DBT_TARGET
    return dg.Definitions(assets=[serving_copy] if on_duckdb else [])
