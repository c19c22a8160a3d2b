"""Where the dbt manifest is and whether it is stale, without importing dbt or Dagster.

The command line asks this before deciding whether a run has anything to do, and the
answer must cost milliseconds, not the seconds that importing dagster-dbt takes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "target" / "manifest.json"
DBT_SOURCES = ("dbt_project.yml", "profiles", "dbt_project", "seeds")


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


def manifest_is_stale(manifest: Path = MANIFEST_PATH) -> bool:
    """Return whether the manifest is missing or older than any dbt source file."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _source_files())
