"""The interface engine's side of MLLP, for tests: frame, send, read the ACK, resend on loss."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

from orchestration.ingest.readers.hl7_reader import decode, split_messages
from tests.conftest import HANDMADE_LANDING
from tests.servers.loopback import free_port

START, END = b"\x0b", b"\x1c\r"
CLI = Path(sys.executable).parent / "referral-warehouse"


def scheduling_messages(copies: int) -> list[bytes]:
    """The hand-made world's SIU messages, repeated with distinct MSH-10 control ids."""
    originals = [message for path in sorted((HANDMADE_LANDING / "scheduling").glob("*.hl7"))
                 for message in split_messages(decode(path.read_bytes()))]
    messages = []
    for n in range(copies):
        for original in originals:
            fields = original.split("|")
            fields[9] = f"{fields[9]}-{n:04d}"  # MSH-10 (MSH-1 is the separator itself)
            messages.append("|".join(fields).encode())
    return messages


def control_id(message: bytes) -> str:
    """MSH-10 of a message."""
    return message.split(b"|")[9].decode()


def read_reply(connection: socket.socket, timeout: float = 10.0) -> bytes:
    """Read one framed reply; b'' when the receiver closed the connection."""
    connection.settimeout(timeout)
    data = b""
    while not data.endswith(END):
        chunk = connection.recv(65536)
        if not chunk:
            return b""
        data += chunk
    return data.strip(START).removesuffix(END)


def ack_code(reply: bytes) -> str:
    """MSA-1 of an ACK."""
    msa = next(segment for segment in reply.split(b"\r") if segment.startswith(b"MSA"))
    return msa.split(b"|")[1].decode()


def send(connection: socket.socket, message: bytes) -> str:
    """Send one framed message and return its ACK code."""
    connection.sendall(START + message + END)
    reply = read_reply(connection)
    if not reply:
        raise ConnectionError("the receiver closed the connection")
    return ack_code(reply)


def connect(port: int, context: ssl.SSLContext | None = None) -> socket.socket:
    """Open a connection to the receiver (with TLS when given a context)."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(connection, server_hostname="localhost") if context \
        else connection


class Receiver:
    """``referral-warehouse listen-hl7`` as a process; its log goes to a file."""

    def __init__(self, landing: Path, log: Path, *args: str) -> None:
        self.port = free_port()
        self.log = log
        before = log.read_text().count("listening") if log.exists() else 0
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [str(CLI), "listen-hl7", "--port", str(self.port), "--landing", str(landing),
                 *args], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while log.read_text().count("listening") == before:
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: stop accepting and land what is committed."""
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0, self.log.read_text()
