"""The dbt project as Dagster sees it: where it lives, and its manifest, parsed if missing."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

REPO_ROOT = Path(__file__).resolve().parents[1]


def dbt_executable() -> str:
    """Return the dbt installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT / "profiles")


def dbt_cli() -> DbtCliResource:
    """Return the dbt CLI resource for this project."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


# `dagster dev` re-parses on start; `make` re-parses when dbt files change; anything else
# (a bare `pytest`, say) parses once when the manifest is missing.
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
