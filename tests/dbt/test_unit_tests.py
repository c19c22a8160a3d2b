"""dbt's unit tests on DuckDB, run here rather than in every production run (issue 11).

They check our SQL on fixed inputs, so they belong with the code's tests; a production
`dbt build` excludes them. They need the warehouse's relations to exist, so they run against
a copy of the hand-made world's warehouse. tests/engines runs the same unit tests on
Postgres and Spark, inside their builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from orchestration.settings import REPO_ROOT
from orchestration.transform.dbt_project import dbt_executable
from tests.engines.marts import project_unit_tests, unit_test_verdicts


def test_every_dbt_unit_test_passes(handmade_world: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(handmade_world / "warehouse.duckdb", warehouse)
    target = tmp_path / "target"
    done = subprocess.run(
        [dbt_executable(), "test", "--select", "resource_type:unit_test", "--project-dir",
         str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "profiles"), "--target-path",
         str(target)],
        env={**os.environ, "RW_WAREHOUSE_PATH": str(warehouse)}, cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    verdicts = unit_test_verdicts(target)
    assert set(verdicts) == project_unit_tests(target) and set(verdicts.values()) == {"pass"}
