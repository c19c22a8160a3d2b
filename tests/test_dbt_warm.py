"""The dbt started with the run answers as a dbt process would, and cannot outlive the run.

The command line starts a dbt server before it imports Dagster (orchestration/transform/
dbt_warm.py); the dbt step runs a relay in its place. The relay's output, event for event,
and its exit status are a dbt process's; a relay that finds no server runs dbt itself; and
the server dies with the process that started it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestration.settings import REPO_ROOT
from orchestration.transform import dbt_warm
from orchestration.transform.dbt_parse_ahead import dbt_environment, dbt_executable

ARGS = ["ls", "--select", "fct_referrals", "--profiles-dir", str(REPO_ROOT / "profiles"),
        "--project-dir", str(REPO_ROOT)]


# What a command reports: the project found and its answer (parsing's own events depend on
# whether a partial parse was there to reuse, which the first call leaves for the second).
REPORTED = ("FoundStats", "PrintEvent")


def _events(output: str) -> list[tuple[str, str]]:
    """The events a dbt command printed as JSON lines: name and message, without ids."""
    return [(event["info"]["name"], event["info"]["msg"]) for event in
            (json.loads(line) for line in output.splitlines() if line.startswith("{"))
            if event["info"]["name"] in REPORTED]


def _run(executable: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **dbt_environment(str(tmp_path / "warehouse.duckdb")),
           "DBT_LOG_FORMAT": "json", "DBT_TARGET_PATH": str(tmp_path / "target"),
           "RW_DBT_TARGET": "duckdb"}
    return subprocess.run([executable, *args], env=env, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_relay_answers_as_dbt_and_then_leaves_it_to_dbt(tmp_path: Path) -> None:
    direct = _run(dbt_executable(), ARGS, tmp_path)
    relay = dbt_warm.start(dbt_executable())
    try:
        assert relay is not None and dbt_warm.relay_executable() == str(relay)
        assert dbt_warm.relay_executable() is None  # one command per run
        served = _run(str(relay), ARGS, tmp_path)
        assert (served.returncode, _events(served.stdout)) == (0, _events(direct.stdout))
        assert any(message.endswith("fct_referrals") for _, message in _events(served.stdout))
        # The server answered once and is gone: the relay runs dbt itself, and a failing
        # command's status comes back as dbt's.
        failing = ["run", "--select", "no_such_model", "--warn-error", *ARGS[3:]]
        assert _run(str(relay), failing, tmp_path).returncode == _run(
            dbt_executable(), failing, tmp_path).returncode != 0
    finally:
        dbt_warm.stop()
    assert not relay.parent.exists()


def test_the_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from orchestration.transform import dbt_warm;"
         " relay = dbt_warm.start(sys.argv[1]);"
         " print(dbt_warm.server_pid(), relay.parent / 'dbt.sock', flush=True);"
         " time.sleep(600)", dbt_executable()], stdout=subprocess.PIPE, text=True)
    pid, address = parent.stdout.readline().split()
    server, deadline = int(pid), time.monotonic() + 60
    while not Path(address).exists():  # the server has imported dbt and waits
        assert time.monotonic() < deadline, "the dbt server never started listening"
        time.sleep(0.1)
    os.kill(server, 0)  # alive
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            return
        _reap(server)
        time.sleep(0.1)
    raise AssertionError("the dbt server outlived the process that started it")


def _reap(pid: int) -> None:
    """A dead child of this process lingers as a zombie until it is reaped."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
