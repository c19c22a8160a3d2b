"""The stack a data engineer would build instead: DuckDB's readers, then one `dbt build`.

Issue 25 sets the speed goals against this peer rather than against the plain script alone:
the same dbt project, built by one `dbt build` after DuckDB's own readers have put the
landing files into tables, with no Dagster, no Great Expectations and no loader of ours
(no identity, quarantine, pseudonyms, ledger or Parquet copy). Its time is the sum of:

- **readers**: every entity's landing files read into a table of a fresh database file by
  DuckDB's reader for the format (`benchmarks/ingest.py`'s `PLAIN`: `read_json`,
  `read_csv`, HL7 as lines, since DuckDB has no HL7 reader);
- **dbt build**: one `dbt build` of this project, as production builds it (data tests
  included, unit tests not), from a fresh dbt process, on a copy of the warehouse our own
  full build loaded. The project's sources are our raw tables, so this is the only way to
  build the same 60 models and their tests on the same rows; the copy's marts and staged
  tables are dropped first, and the target folder is new, so dbt parses the project and
  builds everything from nothing, as the peer's first build would (and as our full build,
  on a new warehouse, does: dbt re-parses for a profile naming another warehouse file).

    python benchmarks/dbt_peer.py <landing> <warehouse.duckdb built by `referral-warehouse run`>
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
from ingest import PLAIN  # benchmarks/ is the script's folder

from orchestration.ingest.entities.entity_registry import ENTITIES
from orchestration.ingest.landing import discover
from orchestration.transform.dbt_project import dbt_executable

REPO_ROOT = Path(__file__).resolve().parent.parent
KEPT_SCHEMAS = ("raw", "quality")  # the loader's and the suites'; every other one is dbt's


def read_landing(landing: Path, database: Path) -> float:
    """Read every entity's landing files into a table with DuckDB's readers; return seconds."""
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        for spec in ENTITIES:
            files = [str(f.path) for f in discover(landing, spec).files]
            if files:
                con.execute(f"create table {spec.table} as select * from "
                            f"{PLAIN[spec.file_format.name].format(files=files)}")
    return time.perf_counter() - started


def dbt_build(warehouse: Path, workdir: Path) -> float:
    """Build the project once on a copy of ``warehouse`` without dbt's tables; return seconds."""
    copy = workdir / "peer.duckdb"
    shutil.copy2(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        schemas = [row[0] for row in con.execute(
            "select schema_name from duckdb_schemas() where database_name = current_database() "
            "and not internal and schema_name not in ('main', 'information_schema')"
        ).fetchall() if row[0] not in KEPT_SCHEMAS]
        for schema in schemas:
            con.execute(f'drop schema "{schema}" cascade')
    env = {**os.environ, "RW_WAREHOUSE_PATH": str(copy), "RW_DBT_TARGET": "duckdb",
           "RW_RAW_DATASET_DIR": str(workdir / "raw_datasets")}
    started = time.perf_counter()
    done = subprocess.run(
        [dbt_executable(), "build", "--exclude", "resource_type:unit_test", "--quiet",
         "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT / "profiles"),
         "--target-path", str(workdir / "target")],
        env=env, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the peer's dbt build failed:\n{done.stdout[-3000:]}")
    return seconds


def run(landing: Path, warehouse: Path) -> dict[str, float]:
    """Time the peer on one world: its readers, its dbt build and their sum, in seconds."""
    with tempfile.TemporaryDirectory(prefix="rw-dbt-peer-") as folder:
        workdir = Path(folder)
        readers = read_landing(landing, workdir / "readers.duckdb")
        build = dbt_build(warehouse, workdir)
    return {"readers": readers, "dbt_build": build, "peer": readers + build}


def main() -> None:
    """Print the peer's time on one landing folder and warehouse."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("landing", type=Path)
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    figures = run(args.landing, args.warehouse)
    print(f"readers {figures['readers']:.1f}s + dbt build {figures['dbt_build']:.1f}s "
          f"= peer {figures['peer']:.1f}s")


if __name__ == "__main__":
    main()
