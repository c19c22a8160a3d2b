"""The dbt project as Dagster sees it: where it lives, and its manifest, parsed if missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace
from dbt.task.docs import DOCS_INDEX_FILE_PATH
from packaging.version import Version

from orchestration.settings import REPO_ROOT
from orchestration.transform import dbt_parse_ahead
from orchestration.transform.dbt_catalog import write_catalog
from orchestration.transform.dbt_manifest import build_target_path, manifest_is_stale, target_path
from orchestration.transform.dbt_parse_ahead import (
    PARTIAL_PARSE_FILE,
    dbt_environment,
    dbt_executable,
)


class ProjectDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, without two start-up costs this project does not need.

    Before each dbt command dagster-dbt ran `dbt --version` in a process of its own, to tell
    dbt Core from the Fusion engine (2.2 s of every run that builds), and loaded dbt's
    adapter and macros into the Dagster process (1.1 s), which it uses only to fetch row
    counts and column metadata, which these assets do not ask for. The dbt this resource runs
    is the venv's dbt-core, pinned in pyproject.toml, so its version is the package's.
    tests/dbt/test_project_rules.py holds the two equal.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> None:
        return None


def dbt_cli() -> DbtCliResource:
    """Return the dbt CLI resource for this project."""
    return ProjectDbtCli(project_dir=dbt_project(), dbt_executable=dbt_executable())


def prepare() -> None:
    """Parse the dbt project when its manifest is missing or older than any dbt file.

    Dagster reads the manifest to know the dbt assets, so whoever loads the code location
    calls this first: the command line before a run, `make dev`, the test session
    (`dbt_project()` covers `dagster dev` started by hand).
    """
    if manifest_is_stale():
        dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project().target_path).wait()


class ProjectPreparer(DagsterDbtProjectPreparer):
    """`dagster dev`'s preparation, with the venv's dbt and only when the manifest is stale.

    dagster-dbt's own preparer runs the `dbt` it finds on PATH, and `make dev` from a fresh
    clone has no `.venv/bin` there: the code location failed to load ("The dbt executable
    'dbt' was not found on PATH").
    """

    def prepare(self, project: DbtProject) -> None:
        """Parse the project with the venv's dbt when any dbt file is newer than its manifest."""
        prepare()


@cache
def dbt_project() -> DbtProject:
    """Return the dbt project, prepared (parsed if stale) under `dagster dev` on first use.

    A cached function, as Dagster's own open platform project has it: importing this module
    does no work; the code location asks for the project when it builds the dbt assets.
    """
    project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT / "profiles",
                         target_path=target_path().relative_to(REPO_ROOT))
    # DbtProject builds its own preparer and takes none: a record, so replace it.
    project = replace(project, preparer=ProjectPreparer())
    project.prepare_if_dev()
    return project


@contextmanager
def warehouse_env(path: str, raw_datasets: str | Path | None = None) -> Iterator[None]:
    """Set dbt's environment for a run's warehouse (`dbt_parse_ahead.dbt_environment`).

    Puts back what was there before afterwards.
    """
    values = dbt_environment(path, raw_datasets)
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prepared_build_target(warehouse_path: str) -> Path:
    """Return the warehouse's dbt target folder, seeded with the project's last parse.

    A first build of a warehouse starts from the parse the command line started for it
    before the run (orchestration/transform/dbt_parse_ahead.py), waiting for it if need be;
    without one, from the parse `prepare()` made: when that parse saw the same profile, dbt
    reuses it, otherwise dbt discards it and parses afresh, as it would have anyway.
    """
    build = build_target_path(warehouse_path)
    build.mkdir(parents=True, exist_ok=True)
    if (build / PARTIAL_PARSE_FILE).exists() or dbt_parse_ahead.take(build):
        return build
    parsed = target_path() / PARTIAL_PARSE_FILE
    if parsed.exists():
        shutil.copy2(parsed, build / PARTIAL_PARSE_FILE)
    return build


DOCS_SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def docs_from_build(con: duckdb.DuckDBPyConnection, warehouse_path: str,
                    site_parent: Path) -> Path | None:
    """Make dbt's docs site from the run's own build; None when the project changed since.

    The run's `dbt build` left a manifest with every node's compiled SQL in the warehouse's
    target folder, so the site needs only dbt's page and the catalog, which this process
    writes from DuckDB's catalog (orchestration/transform/dbt_catalog.py) in a fraction of
    the 2.3 s `dbt docs generate --no-compile` took. Returns a folder holding only the site.
    """
    built_manifest = prepared_build_target(warehouse_path) / "manifest.json"
    if manifest_is_stale(built_manifest):
        return None
    site = site_parent / "site"
    site.mkdir()
    # Contents only: copy2 kept the dbt package's 0644, and a run's files are owner-only.
    shutil.copyfile(built_manifest, site / "manifest.json")
    shutil.copyfile(DOCS_INDEX_FILE_PATH, site / "index.html")
    write_catalog(con, built_manifest, site / "catalog.json")
    return site


def generate_docs(warehouse_path: str, site_parent: Path,
                  on_child: Callable[[int | None], None] | None = None) -> Path:
    """Run `dbt docs generate` against a warehouse; return a folder holding only the site.

    For a project that changed since the warehouse's last whole build (`docs_from_build`
    cannot use its manifest): dbt compiles every node and writes the three files.
    ``on_child`` hears the dbt process id when it starts and None when it ended, so a crash
    meanwhile can be cleaned up by the next run (orchestration/runtime/recovery.py).
    """
    build = prepared_build_target(warehouse_path)
    site = site_parent / "site"
    site.mkdir()
    with warehouse_env(warehouse_path):
        invocation = dbt_cli().cli(["docs", "generate", "--quiet"], target_path=build)
        if on_child is not None:
            on_child(invocation.process.pid)
        try:
            invocation.wait()
        finally:
            if on_child is not None:
                on_child(None)
    for name in DOCS_SITE_FILES:
        shutil.copy2(build / name, site / name)
    return site


if __name__ == "__main__":
    prepare()
