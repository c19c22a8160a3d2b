"""Run a service tree in the foreground so that Ctrl-C or SIGTERM stops all of it, promptly.

`dagster dev` starts a webserver, a daemon and code servers, and stops them cleanly only when
it receives SIGINT itself: started by make, or in the background, or sent SIGTERM, it could
leave them running (the webserver and daemon wait on a pipe the parent never writes). Here
the service runs in a session of its own with SIGINT at its default; a SIGINT or SIGTERM to
us is passed on as one SIGINT, and whatever is still running after the grace period is
killed, so nothing outlives the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence

GRACE_SECONDS = 15.0


def _default_interrupts() -> None:
    # A child of a non-interactive shell inherits SIGINT ignored; Python would then never
    # raise KeyboardInterrupt, and `dagster dev` would never shut its services down.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_supervised(command: Sequence[str], grace_seconds: float = GRACE_SECONDS) -> int:
    """Run ``command`` until it ends or we are told to stop; return its exit status."""
    child = subprocess.Popen(list(command), start_new_session=True,
                             preexec_fn=_default_interrupts)
    stopping: list[float] = []

    def stop(signum: int, frame: object) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            child.send_signal(signal.SIGINT)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while child.poll() is None:
            if stopping and time.monotonic() - stopping[0] > grace_seconds:
                break
            time.sleep(0.2)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _end_group(child.pid)
    return child.returncode if child.returncode is not None else 128 + signal.SIGINT


def _end_group(group: int) -> None:
    """Kill whatever is left in the child's session (services that ignored the stop)."""
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return
