"""A dbt process started with the run, whose imports are done when the dbt step needs it.

A `dbt build` in a new process spent its first 2 s importing dbt and its adapter and setting
up its first invocation, on the run's critical path (9.6 s in a new process against 7.6 s in
one that had imported dbt, for the same scale-1 build). The command line starts this server
beside the run, before it imports Dagster; it imports dbt on the second core while the run
loads, then waits for one command on a Unix socket in a private folder. dagster-dbt runs
dbt as a subprocess and reads its output; for the build, the dbt step gives it a relay
script instead of `dbt` (`relay_executable`), which hands the command line, environment and
working directory to the server and passes its output and exit status back: dagster-dbt
sees what a dbt process would have printed.

The server runs one command and exits. It cannot outlive the run's process (the kernel kills
it when its parent dies, PR_SET_PDEATHSIG), and a relay that finds no server runs dbt itself.

This module imports neither dbt nor Dagster: the command line and the relay load it first.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

SERVER_MODULE = "orchestration.transform.dbt_warm"
ACCEPT_SECONDS = 6 * 3600.0  # a run waiting for another run's lock still finds it
PR_SET_PDEATHSIG = 1
# Frames from the server: a kind byte, a length, the bytes. Output, then the exit status.
OUTPUT, EXIT, PID = b"o", b"x", b"p"
HEADER = struct.Struct("!cI")

_server: dict[str, object] = {}  # this process's server: its process, folder and relay


def start(dbt_executable: str) -> Path | None:
    """Start the server for this run; return the relay to run instead of dbt (None: no server).

    ``dbt_executable`` is what the relay runs itself when no server answers.
    """
    if _server:
        return _server["relay"]  # type: ignore[return-value]
    folder = Path(tempfile.mkdtemp(prefix="rw-dbt-"))  # 0700: only this user reaches it
    address = folder / "dbt.sock"
    relay = folder / "dbt"
    relay.write_text(f"#!{sys.executable}\n"
                     f"from {SERVER_MODULE} import relay\n"
                     f"relay({str(address)!r}, {dbt_executable!r})\n")
    relay.chmod(0o700)
    process = subprocess.Popen([sys.executable, "-m", SERVER_MODULE, str(address)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _server.update(process=process, folder=folder, relay=relay)
    atexit.register(stop)
    return relay


def relay_executable() -> str | None:
    """Return the relay of this process's server once, if one was started and still waits."""
    process = _server.get("process")
    if process is None or process.poll() is not None or _server.get("taken"):
        return None
    _server["taken"] = True
    return str(_server["relay"])


def server_pid() -> int | None:
    """Return the server's process id (the run records it as a child writing the warehouse)."""
    process = _server.get("process")
    return process.pid if process is not None else None


def stop() -> None:
    """Stop the server if it still runs, and remove its folder."""
    process = _server.get("process")
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
    folder = _server.get("folder")
    if folder is not None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    _server.clear()


def _die_with_parent() -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; elsewhere a no-op)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _send(connection: socket.socket, kind: bytes, data: bytes) -> None:
    connection.sendall(HEADER.pack(kind, len(data)) + data)


class _BinaryOutput:
    """The bytes side of `_Output` (what writers of `sys.stdout.buffer` reach)."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection

    def write(self, data: bytes) -> int:
        if data:
            _send(self.connection, OUTPUT, bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""


class _Output:
    """A text stream that sends what is written to the relay, as dbt's stdout would."""

    encoding = "utf-8"

    def __init__(self, connection: socket.socket) -> None:
        self.buffer = _BinaryOutput(connection)

    def write(self, text: str) -> int:
        self.buffer.write(text.encode("utf-8", errors="replace"))
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def isatty(self) -> bool:
        """Not a terminal: dbt prints no colour codes."""
        return False


def serve(address: str) -> None:
    """Import dbt, then run the one command a relay sends, with its environment and folder."""
    _die_with_parent()
    from dbt.cli.main import dbtRunner  # the imports this process exists to do early

    with contextlib.suppress(ImportError):
        import dbt.adapters.duckdb  # noqa: F401 - the default engine's adapter, loaded early
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    listener.settimeout(ACCEPT_SECONDS)
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        os._exit(0)
    _send(connection, PID, str(os.getpid()).encode())
    request = json.loads(_receive_request(connection))
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.stdout = sys.stderr = _Output(connection)  # type: ignore[assignment]
    try:
        result = dbtRunner().invoke(request["args"])
        code = 0 if result.success else (2 if result.exception is not None else 1)
    except BaseException:  # as dbt's own command line would, for anything it did not catch
        code = 2
    _send(connection, EXIT, str(code).encode())
    connection.close()
    os._exit(code)


def _receive_request(connection: socket.socket) -> bytes:
    size = struct.unpack("!I", _receive_exactly(connection, 4))[0]
    return _receive_exactly(connection, size)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the relay went away before its command was whole")
        data += chunk
    return data


def relay(address: str, dbt_executable: str) -> None:
    """Hand this command to the server and pass its output back; run dbt itself without one."""
    args = sys.argv[1:]
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(address)
    except OSError:  # no server waits (it failed to start, or served already): dbt itself
        os.execv(dbt_executable, [dbt_executable, *args])
    request = json.dumps({"args": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    connection.sendall(struct.pack("!I", len(request)) + request)
    server = None

    def stop_server(signum: int, _frame: object) -> None:
        if server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signal.SIGKILL)
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_server)
    stdout = sys.stdout.buffer
    while True:
        header = _receive_exactly_or_none(connection, HEADER.size)
        if header is None:  # the server died without a status
            os._exit(2)
        kind, size = HEADER.unpack(header)
        data = _receive_exactly(connection, size)
        if kind == PID:
            server = int(data)
        elif kind == OUTPUT:
            stdout.write(data)
            stdout.flush()
        elif kind == EXIT:
            os._exit(int(data))


def _receive_exactly_or_none(connection: socket.socket, size: int) -> bytes | None:
    try:
        return _receive_exactly(connection, size)
    except ConnectionError:
        return None


if __name__ == "__main__":
    serve(sys.argv[1])
