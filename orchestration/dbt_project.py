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


def manifest_is_stale() -> bool:
    """Return whether the manifest is missing or older than any dbt source file."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    sources = [REPO_ROOT / "dbt_project.yml", *(REPO_ROOT / "profiles").rglob("*"),
               *(REPO_ROOT / "dbt_project").rglob("*"), *(REPO_ROOT / "seeds").rglob("*")]
    built = manifest.stat().st_mtime
    return any(path.is_file() and path.stat().st_mtime > built for path in sources)


# Dagster reads the manifest to know the dbt assets: parse when dbt files changed since.
if manifest_is_stale():
    dbt_cli().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
