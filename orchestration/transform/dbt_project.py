"""The dbt project as Dagster sees it: where it lives, and its manifest, parsed if missing."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared.record import replace
from packaging.version import Version

from orchestration.settings import (
    RAW_DATASET_ENV_VAR,
    REPO_ROOT,
    WAREHOUSE_ENV_VAR,
    raw_dataset_dir,
)
from orchestration.transform.dbt_manifest import build_target_path, manifest_is_stale, target_path


def dbt_executable() -> str:
    """Return the dbt installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


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
    """Point dbt's profile at a run's warehouse file and, for Spark, its raw datasets.

    Sets RW_WAREHOUSE_PATH and RW_RAW_DATASET_DIR (macros/register_raw_datasets.sql) for
    the duration, and puts back what was there before.
    """
    values = {WAREHOUSE_ENV_VAR: path,
              RAW_DATASET_ENV_VAR: str(raw_datasets or raw_dataset_dir(path))}
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

    A first build of a warehouse starts from the parse `prepare()` made: when that parse saw
    the same profile (the command line parses with the run's warehouse), dbt reuses it;
    otherwise dbt discards it and parses afresh, as it would have anyway.
    """
    build = build_target_path(warehouse_path)
    build.mkdir(parents=True, exist_ok=True)
    parsed = target_path() / PARTIAL_PARSE_FILE
    if not (build / PARTIAL_PARSE_FILE).exists() and parsed.exists():
        shutil.copy2(parsed, build / PARTIAL_PARSE_FILE)
    return build


DOCS_SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def generate_docs(warehouse_path: str, site_parent: Path,
                  on_child: Callable[[int | None], None] | None = None) -> Path:
    """Run `dbt docs generate` against a warehouse; return a folder holding only the site.

    The run's own `dbt build` left a manifest with every node's compiled SQL in the
    warehouse's target folder, so only the catalog (the tables' columns and statistics) is
    made here: `--no-compile`, with the build's partial parse, costs a few seconds where a
    fresh parse and compile cost fifteen. Without a current build manifest (the project
    changed since), dbt compiles as before. ``on_child`` hears the dbt process id when it
    starts and None when it ended, so a crash meanwhile can be cleaned up by the next run
    (orchestration/runtime/recovery.py).
    """
    build = prepared_build_target(warehouse_path)
    site = site_parent / "site"
    site.mkdir()
    built_manifest = build / "manifest.json"
    compiled = not manifest_is_stale(built_manifest)
    if compiled:  # docs generate rewrites the manifest without compiled SQL: keep the build's
        shutil.copy2(built_manifest, site / "manifest.json")
    with warehouse_env(warehouse_path):
        args = ["docs", "generate", "--quiet", *(["--no-compile"] if compiled else [])]
        invocation = dbt_cli().cli(args, target_path=build)
        if on_child is not None:
            on_child(invocation.process.pid)
        try:
            invocation.wait()
        finally:
            if on_child is not None:
                on_child(None)
    for name in DOCS_SITE_FILES:
        if not (site / name).exists():
            shutil.copy2(build / name, site / name)
    return site


if __name__ == "__main__":
    prepare()
