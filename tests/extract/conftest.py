"""Fixtures for extraction: a SMART client key pair and a Bulk Data server run as a process."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import HANDMADE_LANDING
from tests.servers.bulk_data_server import start_process

CLIENT_ID = "referral-warehouse-test"
# The two hand-made exports: everything first, then what changed since the first.
EXPORTS = (HANDMADE_LANDING / "ehr" / "export_20260110",
           HANDMADE_LANDING / "ehr" / "export_20260331")


def write_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """Write an RSA key pair as PEM files; return (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = folder / f"{name}.pem"
    public = folder / f"{name}.pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The warehouse's SMART backend key pair: (private key file, public key file)."""
    return write_key_pair(tmp_path_factory.mktemp("keys"), "client")


@dataclass
class BulkServer:
    """A running Bulk Data server and the log of every request it answered."""

    base_url: str
    log_path: Path
    process: subprocess.Popen

    @property
    def fhir_url(self) -> str:
        """The FHIR base URL a client is configured with."""
        return f"{self.base_url}/fhir"

    def requests(self) -> list[dict]:
        """Every request so far, in order."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def kickoffs(self) -> list[dict]:
        """The kick-off requests' queries."""
        return [r["query"] for r in self.requests() if r.get("path", "").endswith("$export")]


@pytest.fixture
def bulk_server(tmp_path: Path, client_keys: tuple[Path, Path]
                ) -> Iterator[Callable[..., BulkServer]]:
    """Start servers with the given faults; each is stopped at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(*faults: str, exports: tuple[Path, ...] = EXPORTS) -> BulkServer:
        log = tmp_path / f"bulk-server-{len(started) + 1}.jsonl"
        process, base = start_process(CLIENT_ID, client_keys[1], log, list(exports), faults)
        started.append(process)
        return BulkServer(base, log, process)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
