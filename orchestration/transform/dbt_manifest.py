"""Where the dbt manifest is and whether it is stale, without importing dbt or Dagster.

The command line asks this before deciding whether a run has anything to do, and the
answer must cost milliseconds, not the seconds that importing dagster-dbt takes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from orchestration.settings import REPO_ROOT, dbt_target

DBT_SOURCES = ("dbt_project.yml", "profiles", "dbt_project", "seeds")


def target_path() -> Path:
    """Return dbt's target folder for the engine: `target/`, or `target/<engine>/`.

    A manifest depends on the target (Spark builds intermediate models as tables): each
    engine keeps its own, so switching RW_DBT_TARGET never reads another engine's manifest.
    """
    engine = dbt_target()
    return REPO_ROOT / "target" if engine == "duckdb" else REPO_ROOT / "target" / engine


def build_target_path(warehouse_path: str | Path) -> Path:
    """Return dbt's target folder for the builds of one warehouse.

    Stable across runs, so dbt's partial parsing reuses the last build's parse (a fresh
    folder per run, dagster-dbt's default, re-parsed the whole project every time: about 5 s).
    One folder per warehouse because the profile names the warehouse file and a parse made
    for one profile is discarded under another; runs on one warehouse never overlap (the
    writer lock), so they never share the folder at the same time.
    """
    resolved = str(Path(warehouse_path).resolve())
    return target_path() / "warehouses" / hashlib.sha256(resolved.encode()).hexdigest()[:16]


def manifest_path() -> Path:
    """Return the manifest of the engine's dbt project."""
    return target_path() / "manifest.json"


def _source_files() -> list[Path]:
    files: list[Path] = []
    for name in DBT_SOURCES:
        root = REPO_ROOT / name
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return files


def project_sha256() -> str:
    """Return a hash of the dbt project's own files (models, macros, seeds, profiles, config).

    What a build depends on, unlike the manifest, which dbt rewrites with a new timestamp and
    invocation id on every parse.
    """
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def manifest_is_stale(manifest: Path | None = None) -> bool:
    """Return whether the manifest is missing or older than any dbt source file."""
    manifest = manifest or manifest_path()
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _source_files())
