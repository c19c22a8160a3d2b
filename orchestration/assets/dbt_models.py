"""Every dbt seed, model and snapshot as Dagster assets, built with one `dbt build` per run."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource
from orchestration.settings import WAREHOUSE_ENV_VAR, WAREHOUSE_POOL
from orchestration.translator import ReferralWarehouseTranslator


@contextmanager
def _warehouse_env(path: str) -> Iterator[None]:
    """Point dbt's profile (env_var RW_WAREHOUSE_PATH) at the run's warehouse file."""
    previous = os.environ.get(WAREHOUSE_ENV_VAR)
    os.environ[WAREHOUSE_ENV_VAR] = path
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(WAREHOUSE_ENV_VAR, None)
        else:
            os.environ[WAREHOUSE_ENV_VAR] = previous


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=ReferralWarehouseTranslator(), pool=WAREHOUSE_POOL)
def dbt_warehouse_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                         warehouse: WarehouseResource) -> Iterator:
    """Build the selected seeds, models and snapshots, and run their tests, in one dbt call."""
    with _warehouse_env(warehouse.database_path):
        yield from dbt.cli(["build"], context=context).stream()
