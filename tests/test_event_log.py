"""The Dagster instance `make` installs keeps every event: runs, materializations and checks
written through the pooled SQLite event log are all read back, across more runs than it
keeps databases open for, by a second instance as the webserver would, and after a wipe."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.runtime import event_log
from orchestration.settings import REPO_ROOT


@dg.asset
def counted() -> int:
    return 1


@dg.asset_check(asset=counted)
def counted_is_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    shutil.copy2(REPO_ROOT / "orchestration" / "dagster.yaml", tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_events_of_many_runs_are_stored_and_read_back(instance: dg.DagsterInstance,
                                                      tmp_path: Path) -> None:
    storage = instance.event_log_storage
    assert isinstance(storage, event_log.PooledSqliteEventLogStorage)
    assert Path(storage._base_dir) == tmp_path / "history" / "runs"
    runs = [dg.materialize([counted, counted_is_positive], instance=instance).run_id
            for _ in range(event_log.ENGINES_KEPT + 2)]
    assert len(storage._engines) == event_log.ENGINES_KEPT
    with dg.DagsterInstance.from_config(str(tmp_path)) as reader:  # another process's view
        for run_id in runs:
            types = {r.event_log_entry.dagster_event_type
                     for r in reader.get_records_for_run(run_id).records}
            assert {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.ASSET_MATERIALIZATION,
                    dg.DagsterEventType.ASSET_CHECK_EVALUATION} <= types
        latest = reader.get_latest_materialization_event(dg.AssetKey("counted"))
        assert latest is not None and latest.run_id == runs[-1]
        assert len(reader.get_run_records()) == len(runs)
    instance.wipe()
    assert list(storage._engines) == ["index"]  # the run files were closed before deletion
    assert instance.get_latest_materialization_event(dg.AssetKey("counted")) is None
    again = dg.materialize([counted], instance=instance).run_id
    assert instance.get_latest_materialization_event(dg.AssetKey("counted")).run_id == again


def test_the_schema_is_read_once_it_says_yes_and_again_while_it_says_no(
        instance: dg.DagsterInstance) -> None:
    """A yes about a table or a migration is remembered; a no is asked again, so a migration
    another process completes is seen; a wipe forgets every answer."""
    storage = instance.event_log_storage
    dg.materialize([counted, counted_is_positive], instance=instance)
    assert storage.supports_asset_checks
    assert not storage.has_secondary_index("a_migration_not_yet_run")
    with dg.DagsterInstance.from_config(str(instance.root_directory)) as other:
        other.event_log_storage.enable_secondary_index("a_migration_not_yet_run")
    assert storage.has_secondary_index("a_migration_not_yet_run")
    assert ("secondary index", "a_migration_not_yet_run") in storage._schema_present
    assert not storage.has_table("no_such_table")
    assert ("table", "no_such_table") not in storage._schema_present
    instance.wipe()
    assert ("secondary index", "a_migration_not_yet_run") not in storage._schema_present
