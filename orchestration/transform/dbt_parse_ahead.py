"""Parsing the dbt project for a warehouse's first build while the run loads, on the other core.

dbt's partial parse is only reused under the profile it was made with, and the profile names
the warehouse file: the first `dbt build` of a new warehouse parsed the whole project (5 s on
one core) after the run had loaded everything, with the second core idle. The command line
starts that parse in a process of its own before it even imports Dagster (`start`), into a
folder of its own, since the run does not hold the warehouse yet and its build target may
belong to another run; `dbt parse` never opens the database. When the dbt step prepares its
target, it waits for the parse and starts from it (`take`), exactly as it starts from the
repository's parse otherwise (orchestration/transform/dbt_project.py).

This module imports neither dbt nor Dagster: the command line calls it first thing.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import (
    RAW_DATASET_ENV_VAR,
    REPO_ROOT,
    WAREHOUSE_ENV_VAR,
    raw_dataset_dir,
)
from orchestration.transform.dbt_manifest import build_target_path

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
DBT_FILE_LOG_ENV_VAR = "DBT_LOG_LEVEL_FILE"
PARSE_WAIT_SECONDS = 300

# The parses this process started: build target -> (the dbt process, the folder it writes).
_started: dict[Path, tuple[subprocess.Popen, Path]] = {}


def dbt_executable() -> str:
    """Return the dbt installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_environment(warehouse_path: str, raw_datasets: str | Path | None = None
                    ) -> dict[str, str]:
    """Return what dbt's environment says about a run: its warehouse, raw datasets, file log.

    The profile reads RW_WAREHOUSE_PATH, and macros/register_raw_datasets.sql reads
    RW_RAW_DATASET_DIR; both are part of what a parse is valid for. dbt's own debug file log
    (every statement, `dbt.log` in the target folder) is off unless DBT_LOG_LEVEL_FILE asks
    for it: writing it was a ninth of a build (decision 151), and dbt's info lines, errors
    included, are in the run's log file and Dagster's event log all the same.
    """
    return {WAREHOUSE_ENV_VAR: warehouse_path,
            RAW_DATASET_ENV_VAR: str(raw_datasets or raw_dataset_dir(warehouse_path)),
            DBT_FILE_LOG_ENV_VAR: os.environ.get(DBT_FILE_LOG_ENV_VAR) or "none"}


def start(warehouse_path: str) -> bool:
    """Start parsing for a warehouse whose dbt target holds no parse yet; say whether it did.

    A warehouse built before keeps its own partial parse, which dbt updates in a fraction of
    a second: nothing is started for it.
    """
    build = build_target_path(warehouse_path)
    if (build / PARTIAL_PARSE_FILE).exists() or build in _started:
        return False
    folder = build.parent / f".{build.name}.parse-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    process = subprocess.Popen(
        [dbt_executable(), "parse", "--quiet", "--project-dir", str(REPO_ROOT),
         "--profiles-dir", str(REPO_ROOT / "profiles"), "--target-path", str(folder)],
        env={**os.environ, **dbt_environment(warehouse_path), "DBT_LOG_PATH": str(folder)},
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not _started:
        atexit.register(abandon)
    _started[build] = (process, folder)
    return True


def take(build: Path) -> bool:
    """Wait for the parse started for a build target and put it there; say whether it did.

    A parse that failed leaves nothing: the build parses by itself and reports the problem.
    """
    started = _started.pop(build, None)
    if started is None:
        return False
    process, folder = started
    try:
        process.wait(timeout=PARSE_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    parsed = folder / PARTIAL_PARSE_FILE
    made = process.returncode == 0 and parsed.exists()
    if made:
        build.mkdir(parents=True, exist_ok=True)
        shutil.copy2(parsed, build / PARTIAL_PARSE_FILE)
    shutil.rmtree(folder, ignore_errors=True)
    return made


def abandon() -> None:
    """Stop the parses no build took (the run ended before dbt) and remove their folders."""
    for process, folder in _started.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    _started.clear()
