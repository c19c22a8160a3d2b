"""Whether a refresh has anything to do (issue 11): new files or a changed dbt project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.automation.pending_work import pending_work
from orchestration.runtime.run_state import last_run, state_path


def test_nothing_new_after_a_good_run_until_a_file_or_the_project_changes(
        handmade_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(handmade_world / "landing", landing)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(handmade_world / "warehouse.duckdb", warehouse)
    shutil.copy(state_path(handmade_world / "warehouse.duckdb"), state_path(warehouse))
    assert last_run(warehouse) is not None
    assert pending_work(landing, warehouse) == []

    # A file changed in place (same name, new content) is new work; so is a new file.
    web = sorted((landing / "web").glob("*.ndjson"))[0]
    web.write_text(web.read_text() + web.read_text().splitlines()[0] + "\n")
    (landing / "crm" / "campaigns" / "campaigns_2.csv").write_text(
        next((landing / "crm" / "campaigns").glob("*.csv")).read_text())
    assert pending_work(landing, warehouse) == [
        "1 new or changed file(s) for crm_campaigns",
        "1 new or changed file(s) for web_ga4_events"]

    assert pending_work(landing, warehouse, project="another project") == [
        "the dbt project changed since the last good run"]
    # Marts built on DuckDB are not marts on Spark: switching engines is work to do.
    monkeypatch.setenv("RW_DBT_TARGET", "spark")
    assert pending_work(landing, warehouse)[-1:] == [
        "the marts were last built on duckdb; RW_DBT_TARGET is now spark"]
    monkeypatch.delenv("RW_DBT_TARGET")
    state_path(warehouse).unlink()
    assert pending_work(landing, warehouse) == [
        "no successful run is recorded for this warehouse"]
