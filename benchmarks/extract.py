"""Benchmark: extraction from the systems themselves against the least a script must do.

- Bulk Data: our client (token, kick-off, status, downloads with counts checked, atomic
  landing, DELETE) against a plain loop that GETs the same manifest's files into a folder,
  over the same loopback server (tests/servers/bulk_data_server.py) serving the demo world's
  EHR exports. The server makes every export wait one poll (``Retry-After: 1``); it is
  reported and left out of the ratio.
- MLLP: the receiver (judge, append, two fsyncs, ACK) against a plain loop that appends each
  message to a file and fsyncs it once, the floor of a receiver that acknowledges only
  durable messages; both fed the demo world's SIU messages over 4 connections.

Prints one line per part with the ratio (plain / ours: 1.0 means as fast as the floor).
Figures go in docs/benchmarks.md; tests never time anything.

    python benchmarks/extract.py --landing data/landing
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import requests

from orchestration.extract.bulk_data_resource import FhirBulkDataResource
from orchestration.extract.bulk_export import run_export
from orchestration.ingest.entities.fhir_entities import FHIR_ENTITIES
from orchestration.ingest.readers.hl7_reader import decode, split_messages
from tests.extract.conftest import CLIENT_ID, write_key_pair
from tests.extract.mllp_peer import Receiver, connect, send
from tests.servers.bulk_data_server import start_process

REPO = Path(__file__).resolve().parents[1]
TYPES = sorted({entity.resource_type for entity in FHIR_ENTITIES})
CONNECTIONS = 4


def bulk(landing: Path, work: Path) -> None:
    """Time both exports of the demo world through our client and through a plain loop."""
    exports = sorted((landing / "ehr").glob("export_*"))
    private, public = write_key_pair(work, "bench")
    process, base = start_process(CLIENT_ID, public, work / "server.jsonl", exports)
    try:
        resource = FhirBulkDataResource(base_url=f"{base}/fhir", group_id="all",
                                        client_id=CLIENT_ID, private_key_file=str(private),
                                        resource_types=TYPES)
        target = work / "landing"
        started = time.perf_counter()
        results = [run_export(resource.client(), target, TYPES, "all", lambda m: None)
                   for _ in exports]
        ours = time.perf_counter() - started - len(exports) * 1.0
        size = sum(r.bytes_downloaded for r in results)
        auth = resource.client()._auth
        started = time.perf_counter()
        plain_folder = work / "plain"
        plain_folder.mkdir()
        for _ in exports:
            headers = {"Authorization": f"Bearer {auth.token()}", "Prefer": "respond-async"}
            status = requests.get(f"{base}/fhir/Group/all/$export", params={
                "_type": ",".join(TYPES)}, headers=headers).headers["Content-Location"]
            manifest = requests.get(status, headers=headers)
            while manifest.status_code == 202:
                time.sleep(1.0)
                manifest = requests.get(status, headers=headers)
            for n, entry in enumerate(manifest.json()["output"]):
                (plain_folder / f"{n}.ndjson").write_bytes(
                    requests.get(entry["url"], headers=headers).content)
        plain = time.perf_counter() - started - len(exports) * 1.0
    finally:
        process.terminate()
    resources = sum(sum(r.resources_by_type.values()) for r in results)
    print(f"bulk data: {resources:,} resources, {size / 1e6:.1f} MB in {ours:.2f} s "
          f"({resources / ours:,.0f}/s; plus {len(exports)} s the server asked to wait); "
          f"plain GET loop {plain:.2f} s; ratio {plain / ours:.2f}")


def _messages(landing: Path) -> list[bytes]:
    return [m.encode() for path in sorted((landing / "scheduling").glob("*.hl7"))
            for m in split_messages(decode(path.read_bytes()))]


def mllp(landing: Path, work: Path) -> None:
    """Time the receiver and a plain append+fsync loop on the same messages."""
    messages = _messages(landing)
    receiver = Receiver(work / "mllp_landing", work / "receiver.log")
    shares = [messages[n::CONNECTIONS] for n in range(CONNECTIONS)]

    answers: list[str] = []

    def sender(share: list[bytes]) -> None:
        with connect(receiver.port) as connection:
            answers.extend(send(connection, message) for message in share)

    threads = [threading.Thread(target=sender, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ours = time.perf_counter() - started
    receiver.stop()
    started = time.perf_counter()
    with (work / "plain.hl7").open("ab") as out:
        for message in messages:
            out.write(message + b"\r")
            out.flush()
            os.fsync(out.fileno())
    plain = time.perf_counter() - started
    print(f"mllp: {len(messages):,} messages over {CONNECTIONS} connections in {ours:.2f} s "
          f"({len(messages) / ours:,.0f}/s; {answers.count('AA'):,} AA, the rest the demo "
          f"world's broken messages); plain append+fsync {plain:.2f} s "
          f"({len(messages) / plain:,.0f}/s); ratio {plain / ours:.2f}")


def main() -> None:
    """Run both parts on a landing folder (the demo world's by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, default=REPO / "data" / "landing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bulk(args.landing, Path(folder))
        mllp(args.landing, Path(folder))


if __name__ == "__main__":
    main()
