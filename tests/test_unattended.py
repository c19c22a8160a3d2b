"""Safe to run unattended (issue 10): crashes, runs at once, failed runs, keys, network defaults.

The runs here are real: the command line in subprocesses over the hand-made world, killed
with SIGKILL at chosen moments, which are observed from outside (Dagster's event log, the
lock file, the serving folder), never injected into the pipeline's code.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.runtime.writer_lock import WriterLock, read_holder
from orchestration.serve.publication import current_database, current_publication
from tests.conftest import CRM_ENTITIES, HANDMADE_LANDING, run_config

REPO = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "referral-warehouse"
RUN_TIMEOUT = 300


def _root(tmp_path: Path) -> Path:
    """A folder for one warehouse: the hand-made landing files and a Dagster home."""
    shutil.copytree(HANDMADE_LANDING, tmp_path / "landing")
    for entity in CRM_ENTITIES:
        (tmp_path / "landing" / "crm" / entity).mkdir(parents=True, exist_ok=True)
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(REPO / "orchestration" / "dagster.yaml", tmp_path / "dagster_home")
    return tmp_path


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RW_")}
    env.update(DAGSTER_HOME=str(root / "dagster_home"), RW_DEMO_MODE="1",
               RW_LANDING_DIR=str(root / "landing"),
               RW_WAREHOUSE_PATH=str(root / "warehouse.duckdb"),
               RW_QUALITY_DIR=str(root / "quality"), RW_SERVING_DIR=str(root / "serving"))
    return env


def _start(root: Path, *args: str) -> subprocess.Popen:
    """Start a run whose output goes to a file of its own.

    Never a pipe: a run killed before anyone reads a pipe, or one that prints more than the
    pipe holds while the test polls, would block on its own output.
    """
    log = root / f"run-{len(list(root.glob('run-*.log'))) + 1}.log"
    with log.open("w") as out:
        process = subprocess.Popen([str(CLI), "run", *args], env=_env(root), cwd=root,
                                   stdout=out, stderr=subprocess.STDOUT, text=True)
    process.log_path = log  # type: ignore[attr-defined]
    return process


def _finish(process: subprocess.Popen, timeout: float = RUN_TIMEOUT) -> str:
    """Wait for a run to end; return what it printed."""
    process.wait(timeout=timeout)
    return process.log_path.read_text()  # type: ignore[attr-defined]


def _instance(root: Path) -> dg.DagsterInstance:
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    return dg.DagsterInstance.get()


def _steps_started(instance: dg.DagsterInstance) -> list[str]:
    runs = instance.get_runs(limit=1)
    if not runs:
        return []
    return [record.step_key for record in instance.all_logs(
        runs[0].run_id, of_type=dg.DagsterEventType.STEP_START)]


def _kill_when(process: subprocess.Popen, moment: Callable[[], bool]) -> None:
    """SIGKILL the run's own process (not its children) the moment ``moment()`` holds."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while not moment():
        assert process.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, (
            "the moment to kill the run never came; it printed:\n"
            + process.log_path.read_text()[-3000:])  # type: ignore[attr-defined]
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()


def _mart_differences(one: Path, other: Path) -> dict[str, int]:
    """Return, per mart, how many rows differ between two warehouses (both directions)."""
    with duckdb.connect() as con:
        con.execute(f"attach '{one}' as one (read_only)")
        con.execute(f"attach '{other}' as other (read_only)")
        tables = [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where database_name = 'one' "
            "and schema_name = 'marts' order by 1").fetchall()]
        assert len(tables) >= 7
        return {table: con.execute(
            f"select (select count(*) from (select * from one.marts.{table} except all "
            f"select * from other.marts.{table})) + (select count(*) from (select * from "
            f"other.marts.{table} except all select * from one.marts.{table}))").fetchone()[0]
            for table in tables}


def _ledger_balances(warehouse: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        read, loaded, quarantined = con.execute(
            "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from raw._load_ledger").fetchone()
        raw_rows = sum(con.execute(f"select count(*) from raw.{t}").fetchone()[0]
                       for (t,) in con.execute(
                           "select distinct entity from raw._load_ledger").fetchall())
    assert read == loaded + quarantined and loaded == raw_rows
    return read, loaded, quarantined


def test_runs_killed_at_every_stage_recover_by_themselves(tmp_path: Path,
                                                          handmade_world: Path) -> None:
    """Each run is SIGKILLed at the next stage; the run after it gets past that stage."""
    root = _root(tmp_path)
    instance = _instance(root)
    lock_file = root / "warehouse.duckdb.lock"
    publications = root / "serving" / "publications"
    stages: list[tuple[str, Callable[[], bool]]] = [
        ("extract-load", lambda: "extract_load" in _steps_started(instance)),
        ("quality checks", lambda: "raw_table_suites" in _steps_started(instance)),
        # dbt runs in a child process; killing the run leaves it orphaned, writing.
        ("dbt build", lambda: "dbt_warehouse_assets" in _steps_started(instance)
         and bool(getattr(read_holder(lock_file), "child_pids", ()))),
        ("publish", lambda: publications.is_dir()
         and any(p.name.endswith(".tmp") for p in publications.iterdir())),
    ]
    for stage, moment in stages:
        _kill_when(_start(root), moment)
        assert instance.get_runs(limit=1)[0].status == dg.DagsterRunStatus.STARTED, stage

    last = _start(root)
    output = _finish(last)
    assert last.returncode == 0, output
    runs = instance.get_runs()
    assert [r.status for r in runs[1:]] == [dg.DagsterRunStatus.FAILURE] * 4
    recovered = [record.user_message for record in instance.all_logs(runs[0].run_id)
                 if "without releasing the warehouse" in (record.user_message or "")]
    assert len(recovered) == 1 and "lock reclaimed" in recovered[0]
    # Nothing lost, nothing doubled, nothing left behind.
    assert _mart_differences(root / "warehouse.duckdb",
                             handmade_world / "warehouse.duckdb") == dict.fromkeys(
        _mart_differences(root / "warehouse.duckdb", root / "warehouse.duckdb"), 0)
    assert _ledger_balances(root / "warehouse.duckdb") == _ledger_balances(
        handmade_world / "warehouse.duckdb")
    assert not list((root / "serving").rglob("*.tmp"))
    assert current_publication(root / "serving").name == runs[0].run_id
    assert lock_file.read_text() == ""


def test_three_runs_started_together_take_turns(tmp_path: Path, handmade_world: Path) -> None:
    """Two command-line runs and an in-process Dagster job at once: all succeed, in turn."""
    from orchestration.definitions import defs

    root = _root(tmp_path)
    instance = _instance(root)
    first, second = _start(root), _start(root)
    in_process = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(root / "landing", root), instance=instance)
    outputs = [_finish(process) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert in_process.success and not in_process.get_step_failure_events()
    runs = instance.get_runs()
    assert len(runs) == 3 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    waited = [record.user_message for run in runs for record in instance.all_logs(run.run_id)
              if (record.user_message or "").startswith("waiting for the warehouse")]
    assert len(waited) >= 2 and all(" is writing it" in m for m in waited)
    # The runs after the first had nothing new to document: the docs site was reused.
    reused = [run.run_id for run in runs for record in instance.all_logs(run.run_id)
              if (record.user_message or "").startswith("dbt docs unchanged")]
    assert len(reused) == 2
    # And a fourth run has nothing to do at all (issue 11).
    fourth = _start(root)
    output = _finish(fourth, 120)
    assert fourth.returncode == 0 and output.startswith("nothing new:"), output
    assert len(instance.get_runs()) == 3
    # The warehouse equals one run's: every file loaded once, the marts as a single run's.
    assert _ledger_balances(root / "warehouse.duckdb") == _ledger_balances(
        handmade_world / "warehouse.duckdb")
    assert set(_mart_differences(root / "warehouse.duckdb",
                                 handmade_world / "warehouse.duckdb").values()) == {0}


def test_a_run_told_not_to_wait_names_the_running_one(tmp_path: Path) -> None:
    root = _root(tmp_path)
    lock = WriterLock(root / "warehouse.duckdb")
    lock.acquire("run-holding", "test", wait_seconds=0)
    try:
        refused = _start(root, "--no-wait")
        output = _finish(refused, 120)
    finally:
        lock.release()
    assert refused.returncode == 75
    assert "run run-holding (test, pid" in output and "not starting" in output
    assert not (root / "warehouse.duckdb").exists()


def test_a_failed_run_leaves_the_serving_copy_untouched(tmp_path: Path,
                                                        handmade_world: Path) -> None:
    """A run whose quality step fails for real publishes nothing; the last copy stays."""
    from orchestration.definitions import defs

    root = _root(tmp_path)
    shutil.copy(handmade_world / "warehouse.duckdb", root / "warehouse.duckdb")
    shutil.copytree(handmade_world / "serving", root / "serving", symlinks=True)
    before = _listing(root / "serving")
    current = current_database(root / "serving")
    (root / "quality").write_text("a file where the quality folder belongs")
    (root / "landing" / "web" / "events_20260301.ndjson").write_text(
        (root / "landing" / "web").glob("*.ndjson").__next__().read_text()
        .replace("2026", "2027"))
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        run_config=run_config(root / "landing", root), raise_on_error=False)
    assert not result.success and result.get_step_failure_events()
    assert _listing(root / "serving") == before
    assert current_database(root / "serving") == current


def _listing(folder: Path) -> dict[str, tuple[int, int] | str]:
    """Every path under a folder with its size and mtime (links: their target)."""
    listing: dict[str, tuple[int, int] | str] = {}
    for path in sorted(folder.rglob("*")):
        relative = str(path.relative_to(folder))
        if path.is_symlink():
            listing[relative] = os.readlink(path)
        elif path.is_file():
            stat = path.stat()
            listing[relative] = (stat.st_size, stat.st_mtime_ns)
    return listing


def test_dashboard_listens_on_this_machine_only_and_sends_no_statistics() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
         "--server.port", str(port)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        listening: set[str] = set()
        while not listening and time.monotonic() < deadline:
            time.sleep(0.5)
            listening = _listening_addresses(port)
        assert listening == {"127.0.0.1"}
    finally:
        server.terminate()
        server.wait(timeout=10)
    shown = subprocess.run(
        [sys.executable, "-c", "import streamlit.config as c; c.get_config_options(); "
         "print(c.get_option('browser.gatherUsageStats'), c.get_option('server.address'))"],
        cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["False", "127.0.0.1"]


def _listening_addresses(port: int) -> set[str]:
    """Return the local addresses with a socket listening on ``port`` (IPv4 and IPv6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, local_port = local.split(":")
            if state != "0A" or int(local_port, 16) != port:  # 0A: LISTEN
                continue
            if width == 8:
                found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
            else:
                words = [bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8)]
                found.add(socket.inet_ntop(socket.AF_INET6, b"".join(words)))
    return found


@pytest.mark.parametrize("wait", [0.0, 1.5])
def test_writer_lock_is_released_when_its_process_dies(tmp_path: Path, wait: float) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from orchestration.runtime.writer_lock import WriterLock; "
        f"lock = WriterLock({str(tmp_path / 'w.duckdb')!r}); "
        "lock.acquire('dead-run', 'test', 0); "
        "print('held', flush=True); time.sleep(60)")], cwd=REPO, stdout=subprocess.PIPE,
        text=True)
    assert holder.stdout.readline().strip() == "held"
    lock = WriterLock(tmp_path / "w.duckdb")
    with pytest.raises(RuntimeError, match=r"being written by run dead-run \(test, pid"):
        lock.acquire("next-run", "test", wait_seconds=wait)
    holder.kill()
    holder.wait()
    dead = lock.acquire("next-run", "test", wait_seconds=5)
    assert dead is not None and dead.run_id == "dead-run"
    lock.release()
