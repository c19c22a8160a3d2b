"""The docs catalog the publication writes in-process is the one `dbt docs generate` writes.

`orchestration/transform/dbt_catalog.py` replaces a `dbt docs generate --no-compile` process
by one query on the run's connection; dbt's docs site reads the result. Both are made here
for the hand-made world's warehouse and compared relation for relation: every model, seed
and source, its columns, their types, order and comments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_parse_ahead import dbt_environment, dbt_executable


def _dbt_catalog(warehouse: Path, target: Path) -> dict:
    """Run dbt's own `docs generate --no-compile` on a copy of the warehouse."""
    copy = target / "copy" / warehouse.name  # the same file name: the same dbt database name
    copy.parent.mkdir(parents=True)
    shutil.copy2(warehouse, copy)
    subprocess.run([dbt_executable(), "docs", "generate", "--no-compile", "--quiet",
                    "--project-dir", str(REPO_ROOT), "--profiles-dir",
                    str(REPO_ROOT / "profiles"), "--target-path", str(target)],
                   env={**os.environ, **dbt_environment(str(copy)), "RW_DBT_TARGET": "duckdb"},
                   cwd=REPO_ROOT, check=True, capture_output=True)
    return json.loads((target / "catalog.json").read_text())


def test_the_published_catalog_is_dbts(handmade_world: Path, tmp_path: Path) -> None:
    published = json.loads(
        (handmade_world / "serving" / "dbt_docs" / "catalog.json").read_text())
    dbts = _dbt_catalog(handmade_world / "warehouse.duckdb", tmp_path)
    assert len(dbts["nodes"]) > 60 and len(dbts["sources"]) == 21
    assert published["nodes"] == dbts["nodes"]
    assert published["sources"] == dbts["sources"]
    assert published["errors"] is None and dbts["errors"] is None
    assert published["metadata"]["dbt_schema_version"] == dbts["metadata"]["dbt_schema_version"]
    site = handmade_world / "serving" / "dbt_docs"
    assert {p.name for p in site.iterdir() if not p.name.startswith(".")} == {
        "index.html", "manifest.json", "catalog.json"}
