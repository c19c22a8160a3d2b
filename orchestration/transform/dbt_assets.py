"""Every dbt seed and model as Dagster assets, built with one `dbt build` per run."""
# No `from __future__ import annotations` here: Dagster reads these annotations at runtime.

from collections.abc import Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration import settings
from orchestration.ingest.ingest_resources import WarehouseResource
from orchestration.ingest.warehouse import ledger_mark
from orchestration.runtime.run_state import record_success
from orchestration.transform import dbt_warm
from orchestration.transform.dbt_manifest import project_sha256
from orchestration.transform.dbt_project import prepared_build_target, warehouse_env
from orchestration.transform.translator import ReferralWarehouseTranslator


def build_dbt_assets(project: DbtProject) -> dg.AssetsDefinition:
    """Return every seed, model and snapshot of the project as one multi-asset."""

    @dbt_assets(manifest=project.manifest_path, project=project,
                dagster_dbt_translator=ReferralWarehouseTranslator())
    def dbt_warehouse_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource,
                             warehouse: WarehouseResource) -> Iterator:
        """Build the selected seeds and models, and run their tests, in one dbt call.

        dbt builds on the engine RW_DBT_TARGET names; every materialization says which.
        """
        engine = {"engine": settings.dbt_target()}
        with warehouse_env(warehouse.database_path, warehouse.raw_dataset_root()):
            # Unit tests check our SQL, not the data: `make test` runs them
            # (tests/dbt/test_unit_tests.py); a production run skips their nodes.
            args = ["build", "--exclude", "resource_type:unit_test"]
            if context.is_subset:
                # A refresh of some models keeps the last whole build's artifacts: dbt's
                # manifest would otherwise hold compiled SQL for the selected models only
                # (dbt's docs read it), and writing it costs 0.65 s (decision 149).
                args.append("--no-write-json")
            target = prepared_build_target(warehouse.database_path)
            # The dbt the command line started beside the run, its imports done, if one waits
            # (orchestration/transform/dbt_warm.py); else a new dbt process.
            relay = dbt_warm.relay_executable()
            cli = dbt.model_copy(update={"dbt_executable": relay}) if relay else dbt
            invocation = cli.cli(args, context=context, target_path=target)
            # A dbt process outlives a killed run; the lock file names it so the next run can
            # stop it (orchestration/runtime/recovery.py).
            warehouse.record_child(invocation.process.pid,
                                   *([dbt_warm.server_pid()] if relay else []))
            try:
                for event in invocation.stream():
                    if isinstance(event, dg.Output | dg.AssetMaterialization):
                        event = event.with_metadata({**event.metadata, **engine})
                    yield event
            finally:
                warehouse.record_child(None)
        if engine["engine"] != "duckdb" and invocation.is_successful():
            # Nothing is published on other engines: the good build is the run's last word.
            with warehouse.connection() as con:
                loaded_through = ledger_mark(con)
            record_success(warehouse.database_path, context.run.run_id, project_sha256(),
                           loaded_through)

    return dbt_warehouse_assets
