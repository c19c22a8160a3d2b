"""`make dev` (referral-warehouse dev) stops whole on Ctrl-C or SIGTERM, within 20 s.

The Dagster UI, its daemon and code servers are real processes here, started with a PATH
that has no venv on it; the stop is sent as a terminal (SIGINT to the foreground group) or a
service manager (SIGTERM) sends it, and afterwards no process of that instance is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers.loopback import free_port

CLI = Path(sys.executable).parent / "referral-warehouse"
REPO = Path(__file__).resolve().parents[1]


def _instance_processes(home: Path) -> list[int]:
    """Processes whose command line names this Dagster home (its instance ref does)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(home).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_dagster_ui_stops_whole_on_ctrl_c_or_sigterm(tmp_path: Path, stop: int) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "orchestration" / "dagster.yaml").read_text())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RW_")}
    env.update(PATH="/usr/bin:/bin", DAGSTER_HOME=str(home), RW_DEMO_MODE="1",
               RW_LANDING_DIR=str(tmp_path / "landing"),
               RW_WAREHOUSE_PATH=str(tmp_path / "warehouse.duckdb"))
    with (tmp_path / "dev.log").open("w") as log:
        launcher = subprocess.Popen([str(CLI), "dev", "--port", str(port)], env=env, cwd=REPO,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert launcher.poll() is None, (tmp_path / "dev.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the UI did not come up in 120 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info",
                                            timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        assert len(_instance_processes(home)) >= 2  # webserver and daemon at least
        # Ctrl-C reaches the terminal's foreground group; a service manager signals the pid.
        if stop == signal.SIGINT:
            os.killpg(launcher.pid, signal.SIGINT)
        else:
            launcher.send_signal(signal.SIGTERM)
        started = time.monotonic()
        launcher.wait(timeout=20)
        stopped_in = time.monotonic() - started
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert _instance_processes(home) == [], (tmp_path / "dev.log").read_text()[-2000:]
    assert stopped_in < 20
