"""A FHIR Bulk Data server on loopback that follows the specification, with faults on request.

Run as a real process by the extraction tests (``python -m tests.servers.bulk_data_server``).
It implements SMART Backend Services' token endpoint (the JWT client assertion's signature,
``iss``, ``sub``, ``aud``, ``exp`` and ``jti`` checked against the client's public key), the
Group-level ``$export`` kick-off, the status URL (202 with ``X-Progress`` and ``Retry-After``,
then the manifest), file downloads (``Range``, gzip, bearer token), ``error`` files and
DELETE. Kick-off n serves the n-th export folder given (the last one again after that), from
the NDJSON files in it. Every request is written to a JSON-lines log the tests read.

Faults (``--fault``, repeatable): ``kickoff-500``, ``unavailable`` (503 on the first
kick-off), ``rate-limit`` (429 on the first status poll), ``token-expires`` (every token
issued so far stops working after the first file), ``cut-download`` (the largest file's first
download stops halfway), ``missing-file`` (the manifest lists a file that 404s), ``cancel``
(the export is gone at the second poll), ``errors`` (the manifest lists an error file).
"""

from __future__ import annotations

import argparse
import gzip
import json
import secrets
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt

# Free text a careless server puts in OperationOutcome diagnostics; it must never be echoed.
LEAKY_DIAGNOSTICS = "Patient Jane Q. Doe MRN 4455661 born 1961-04-09 could not be exported"


def outcome(code: str, severity: str = "error") -> dict:
    """An OperationOutcome with one issue whose diagnostics carry patient content."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": LEAKY_DIAGNOSTICS}]}


class BulkDataServer(ThreadingHTTPServer):
    """The server's state: clients' keys, tokens, exports and faults."""

    daemon_threads = True

    def __init__(self, port: int, args: argparse.Namespace) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.client_id = args.client_id
        self.public_key = Path(args.public_key).read_bytes()
        self.exports = [Path(folder) for folder in args.exports]
        self.faults = set(args.fault or [])
        self.log_path = Path(args.log)
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.seen_jti: set[str] = set()
        self.jobs: dict[str, dict] = {}
        self.kickoffs = 0
        self.fault_used: set[str] = set()
        self.token_lifetime = args.token_lifetime

    def first_time(self, fault: str) -> bool:
        """Whether ``fault`` is on and has not struck yet (each strikes once)."""
        with self.lock:
            if fault in self.faults and fault not in self.fault_used:
                self.fault_used.add(fault)
                return True
            return False

    def record(self, entry: dict) -> None:
        with self.lock, self.log_path.open("a") as log:
            log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    """One request to the Bulk Data server."""

    server: BulkDataServer
    protocol_version = "HTTP/1.1"
    # As production servers do: without it, keep-alive responses stall on delayed ACKs.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        """Keep stderr quiet: the JSON-lines log is the record."""

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, document: object, **headers: str) -> None:
        self._send(status, json.dumps(document).encode(),
                   "application/fhir+json" if status >= 400 else "application/json", headers)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ")
        with self.server.lock:
            expires = self.server.tokens.get(token)
        if not header.startswith("Bearer ") or expires is None or expires < time.time():
            self._json(401, outcome("login"))
            return False
        return True

    def _record(self) -> None:
        parts = urlsplit(self.path)
        self.server.record({"method": self.command, "path": parts.path,
                            "query": parse_qs(parts.query),
                            "authorization": "Authorization" in self.headers,
                            "range": self.headers.get("Range")})

    # -- routes -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        """Route a GET."""
        self._record()
        path = urlsplit(self.path).path
        if path == "/fhir/.well-known/smart-configuration":
            self._json(200, {"token_endpoint": f"{self.server.base}/auth/token",
                             "grant_types_supported": ["client_credentials"],
                             "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                             "token_endpoint_auth_signing_alg_values_supported":
                                 ["RS384", "ES384"]})
        elif path.startswith("/fhir/Group/") and path.endswith("/$export"):
            self._kick_off()
        elif path.startswith("/status/"):
            self._status(path.split("/")[2])
        elif path.startswith("/files/"):
            _, _, job, number = path.split("/")
            self._file(job, int(number))
        else:
            self._json(404, outcome("not-found"))

    def do_POST(self) -> None:
        """The token endpoint."""
        self._record()
        length = int(self.headers.get("Content-Length", 0))
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if urlsplit(self.path).path != "/auth/token":
            self._json(404, outcome("not-found"))
            return
        error = self._check_assertion(form)
        if error:
            self._json(401 if error == "invalid_client" else 400, {"error": error})
            return
        token = secrets.token_urlsafe(24)
        with self.server.lock:
            self.server.tokens[token] = time.time() + self.server.token_lifetime
        self.server.record({"token_issued": token, "scope": form.get("scope")})
        self._json(200, {"access_token": token, "token_type": "bearer",
                         "expires_in": self.server.token_lifetime, "scope": form.get("scope")})

    def do_DELETE(self) -> None:
        """Delete an export's files."""
        self._record()
        if not self._authorized():
            return
        job = urlsplit(self.path).path.split("/")[2]
        with self.server.lock:
            known = self.server.jobs.pop(job, None)
        self._send(202 if known else 404)

    def _check_assertion(self, form: dict[str, str]) -> str | None:
        if form.get("grant_type") != "client_credentials":
            return "unsupported_grant_type"
        if form.get("client_assertion_type") != \
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "invalid_request"
        try:
            claims = jwt.decode(form.get("client_assertion", ""), self.server.public_key,
                                algorithms=["RS384", "ES384"],
                                audience=f"{self.server.base}/auth/token",
                                issuer=self.server.client_id,
                                options={"require": ["iss", "sub", "aud", "exp", "jti"]})
        except jwt.PyJWTError:
            return "invalid_client"
        if claims["sub"] != self.server.client_id or claims["exp"] > time.time() + 310:
            return "invalid_client"
        with self.server.lock:
            if claims["jti"] in self.server.seen_jti:
                return "invalid_client"
            self.server.seen_jti.add(claims["jti"])
        scopes = form.get("scope", "").split()
        if not scopes or any(not s.startswith("system/") or not s.endswith((".rs", ".read"))
                             for s in scopes):
            return "invalid_scope"
        return None

    def _kick_off(self) -> None:
        if not self._authorized():
            return
        if self.headers.get("Prefer") != "respond-async":
            self._json(400, outcome("invalid"))
            return
        if self.server.first_time("unavailable"):
            self._json(503, outcome("transient"), **{"Retry-After": "1"})
            return
        if "kickoff-500" in self.server.faults:
            self._json(500, outcome("exception"))
            return
        query = parse_qs(urlsplit(self.path).query)
        with self.server.lock:
            folder = self.server.exports[min(self.server.kickoffs,
                                             len(self.server.exports) - 1)]
            self.server.kickoffs += 1
            job = secrets.token_hex(8)
            self.server.jobs[job] = {"folder": folder, "polls": 0,
                                     "types": query.get("_type", [""])[0].split(",")}
        self._send(202, headers={"Content-Location": f"{self.server.base}/status/{job}"})

    def _status(self, job: str) -> None:
        if not self._authorized():
            return
        with self.server.lock:
            state = self.server.jobs.get(job)
            if state is not None:
                state["polls"] += 1
        if state is None or ("cancel" in self.server.faults and state["polls"] >= 2):
            self._json(404, outcome("not-found"))
            return
        if self.server.first_time("rate-limit"):
            self._json(429, outcome("throttled"), **{"Retry-After": "1"})
            return
        if state["polls"] == 1:
            self._send(202, headers={"X-Progress": "exporting (50%)", "Retry-After": "1"})
            return
        self._json(200, self._manifest(job, state), Expires="Tue, 01 Jan 2030 00:00:00 GMT")

    def _files(self, state: dict) -> list[Path]:
        return [path for path in sorted(state["folder"].glob("*.ndjson"))
                if path.name.split(".")[0] in state["types"]]

    def _manifest(self, job: str, state: dict) -> dict:
        folder = state["folder"]
        listed = folder / "manifest.json"
        transaction_time = json.loads(listed.read_text())["transactionTime"] \
            if listed.is_file() else "2026-01-01T00:00:00Z"
        output = [{"type": path.name.split(".")[0], "url": f"{self.server.base}/files/{job}/{n}",
                   "count": sum(1 for line in path.read_bytes().splitlines() if line.strip())}
                  for n, path in enumerate(self._files(state))]
        if "missing-file" in self.server.faults:
            output.append({"type": "ServiceRequest",
                           "url": f"{self.server.base}/files/{job}/999"})
        errors = [{"type": "OperationOutcome", "url": f"{self.server.base}/files/{job}/-1"}] \
            if "errors" in self.server.faults else []
        return {"transactionTime": transaction_time,
                "request": f"{self.server.base}/fhir/Group/cardiology/$export",
                "requiresAccessToken": True, "output": output, "error": errors}

    def _file(self, job: str, number: int) -> None:
        if not self._authorized():
            return
        with self.server.lock:
            state = self.server.jobs.get(job)
        files = self._files(state) if state else []
        if number == -1 and state:
            body = (json.dumps(outcome("processing", "warning")) + "\n").encode()
        elif 0 <= number < len(files):
            body = files[number].read_bytes()
        else:
            self._json(404, outcome("not-found"))
            return
        if "token-expires" in self.server.faults and number == 0:
            with self.server.lock:  # every token issued so far stops working after this file
                self.server.tokens = dict.fromkeys(self.server.tokens, 0.0)
        start = 0
        requested = self.headers.get("Range", "")
        if requested.startswith("bytes="):
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self._send(416, headers={"Content-Range": f"bytes */{len(body)}"})
                return
        largest = max(range(len(files)), key=lambda n: files[n].stat().st_size) \
            if files else -2
        if number == largest and start == 0 and self.server.first_time("cut-download"):
            self._cut(body)
            return
        if start:
            part = body[start:]
            self._send(206, part, "application/fhir+ndjson",
                       {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
        elif "gzip" in self.headers.get("Accept-Encoding", ""):
            self._send(200, gzip.compress(body), "application/fhir+ndjson",
                       {"Content-Encoding": "gzip"})
        else:
            self._send(200, body, "application/fhir+ndjson")

    def _cut(self, body: bytes) -> None:
        """Promise the whole file, send half, and hang up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+ndjson")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


def start_process(client_id: str, public_key: Path, log: Path, exports: list[Path],
                  faults: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Start the server as its own process; return it and the base URL it printed."""
    command = [sys.executable, "-m", "tests.servers.bulk_data_server", "--client-id",
               client_id, "--public-key", str(public_key), "--log", str(log),
               "--exports", *map(str, exports)]
    for fault in faults:
        command += ["--fault", fault]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2],
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def main() -> None:
    """Serve until killed; print the base URL once listening."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--public-key", required=True)
    parser.add_argument("--exports", nargs="+", required=True)
    parser.add_argument("--fault", action="append")
    parser.add_argument("--log", required=True)
    parser.add_argument("--token-lifetime", type=int, default=300)
    args = parser.parse_args()
    server = BulkDataServer(args.port, args)
    print(server.base, flush=True)  # noqa: T201
    server.serve_forever()


if __name__ == "__main__":
    main()
