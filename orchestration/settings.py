"""Where the pipeline reads and writes, from environment variables with sensible defaults.

Both paths can also be set per run in Dagster's run config (the resources' config), so one
code location can load any folder of source files in the documented formats.
"""

from __future__ import annotations

import os
from pathlib import Path

# The repository: the dbt project, its seeds and the expectation suites live under it.
REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS_DIR = REPO_ROOT / "seeds"
LANDING_ENV_VAR = "RW_LANDING_DIR"
WAREHOUSE_ENV_VAR = "RW_WAREHOUSE_PATH"
QUALITY_ENV_VAR = "RW_QUALITY_DIR"
SERVING_ENV_VAR = "RW_SERVING_DIR"
LOG_ENV_VAR = "RW_LOG_DIR"
RAW_DATASET_ENV_VAR = "RW_RAW_DATASET_DIR"
RAW_DATASETS_WANTED_ENV_VAR = "RW_RAW_DATASETS"
DBT_TARGET_ENV_VAR = "RW_DBT_TARGET"
DEFAULT_DBT_TARGET = "duckdb"
MEMORY_LIMIT_ENV_VAR = "RW_DUCKDB_MEMORY_LIMIT"
DATA_DOCS_RUNS_ENV_VAR = "RW_DATA_DOCS_RUNS"
DEFAULT_DATA_DOCS_RUNS = 30  # a month of daily runs (decision 147)
# DuckDB's own default is 80% of the machine; with a cap, large joins and sorts spill to
# disk. profiles/profiles.yml has the same default (a test holds them equal).
DEFAULT_MEMORY_LIMIT = "2GB"
RAW_DATASET_FOLDER = "raw_datasets"
DEFAULT_LANDING_DIR = Path("data/landing")
DEFAULT_WAREHOUSE_PATH = Path("data/warehouse/referral_warehouse.duckdb")
DEFAULT_QUALITY_DIR = Path("data/quality")
DEFAULT_SERVING_DIR = Path("data/serving")
DEFAULT_LOG_DIR = Path("data/logs")
# How long a run waits for another run that holds the warehouse before it gives up.
DEFAULT_WRITER_WAIT_SECONDS = 6 * 3600.0
# How long a connection waits for a DuckDB file lock held by a process outside our runs
# (an analyst's read-only session, a dbt process a killed run left behind).
FILE_LOCK_WAIT_SECONDS = 120.0
LAUNCHED_BY_TAG = "referral_warehouse/launched_by"


def landing_dir() -> str:
    """Return the landing folder: $RW_LANDING_DIR or data/landing under the working directory."""
    return str(Path(os.environ.get(LANDING_ENV_VAR) or DEFAULT_LANDING_DIR).absolute())


def warehouse_path() -> str:
    """Return the DuckDB warehouse file: $RW_WAREHOUSE_PATH or data/warehouse/...duckdb."""
    return str(Path(os.environ.get(WAREHOUSE_ENV_VAR) or DEFAULT_WAREHOUSE_PATH).absolute())


def raw_dataset_dir(warehouse: str | Path | None = None) -> str:
    """Return where the raw layer's Parquet datasets go (issue 12, docs/scale-out.md).

    $RW_RAW_DATASET_DIR, else a `raw_datasets` folder beside the warehouse file, so every
    warehouse (each test's, each demo's) keeps its own.
    """
    if os.environ.get(RAW_DATASET_ENV_VAR):
        return str(Path(os.environ[RAW_DATASET_ENV_VAR]).absolute())
    return str(Path(warehouse or warehouse_path()).absolute().parent / RAW_DATASET_FOLDER)


def raw_datasets_wanted() -> bool:
    """Return whether the loader writes the raw layer's Parquet datasets (decision 156).

    $RW_RAW_DATASETS (1 or 0) decides; unset, they are written when dbt builds on another
    engine than DuckDB, the only readers they have. A warehouse that starts wanting them
    gets the rows it loaded without them at its next load.
    """
    value = os.environ.get(RAW_DATASETS_WANTED_ENV_VAR, "").strip().lower()
    if value in {"1", "true", "yes"}:
        return True
    if value in {"0", "false", "no"}:
        return False
    if value:
        raise ValueError(f"{RAW_DATASETS_WANTED_ENV_VAR} must be 1 or 0, not {value!r}")
    return dbt_target() != DEFAULT_DBT_TARGET


def dbt_target() -> str:
    """Return the engine dbt builds on: $RW_DBT_TARGET (duckdb, spark or postgres) or duckdb.

    profiles/profiles.yml reads the same variable; extract-load always writes DuckDB's raw
    tables, and on another target the Parquet raw datasets too (docs/scale-out.md).
    """
    return os.environ.get(DBT_TARGET_ENV_VAR) or DEFAULT_DBT_TARGET


def quality_dir() -> str:
    """Return where GX keeps suites, results and Data Docs: $RW_QUALITY_DIR or data/quality."""
    return str(Path(os.environ.get(QUALITY_ENV_VAR) or DEFAULT_QUALITY_DIR).absolute())


def serving_dir() -> str:
    """Return where the published copy for BI tools goes: $RW_SERVING_DIR or data/serving."""
    return str(Path(os.environ.get(SERVING_ENV_VAR) or DEFAULT_SERVING_DIR).absolute())


def log_dir() -> str:
    """Return where the command line writes dbt's output: $RW_LOG_DIR or data/logs."""
    return str(Path(os.environ.get(LOG_ENV_VAR) or DEFAULT_LOG_DIR).absolute())


def duckdb_memory_limit() -> str:
    """Return the memory cap of each DuckDB connection: $RW_DUCKDB_MEMORY_LIMIT or 2GB.

    The run's own connections (extract-load, quality) and dbt's process each get it; the
    run's steps execute one at a time, so while dbt builds no step of the run is querying.
    """
    return os.environ.get(MEMORY_LIMIT_ENV_VAR) or DEFAULT_MEMORY_LIMIT


def data_docs_runs() -> int:
    """Return how many runs' results of each GX suite are kept: $RW_DATA_DOCS_RUNS or 30."""
    value = os.environ.get(DATA_DOCS_RUNS_ENV_VAR) or str(DEFAULT_DATA_DOCS_RUNS)
    if not value.isdecimal() or int(value) < 1:
        raise ValueError(f"{DATA_DOCS_RUNS_ENV_VAR} must be a whole number of runs, 1 or more")
    return int(value)
