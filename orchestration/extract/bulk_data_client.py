"""The FHIR Bulk Data Access protocol, client side: kick-off, status, files, delete.

The export is asynchronous (https://hl7.org/fhir/uv/bulkdata/export.html): a kick-off answers
202 with a status URL in ``Content-Location``; the status URL answers 202 (with ``X-Progress``
and ``Retry-After``) until it answers 200 with a manifest; each file is then downloaded, and
the export deleted. Every wait honours the server's ``Retry-After`` (and 429/503 anywhere).
Downloads stream to disk, resume with ``Range`` after a cut, and take a new token when one
expires. Messages name the request, the HTTP status and the OperationOutcome's issue codes,
never a URL's query (signed file URLs carry credentials), a token or resource content.
"""

from __future__ import annotations

import email.utils
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from orchestration.extract.smart_backend_auth import SmartBackendAuth

FHIR_JSON = "application/fhir+json"
DEFAULT_WAIT_SECONDS = 5.0
CHUNK_BYTES = 1 << 20


class BulkExportError(Exception):
    """An export that cannot be completed; the message says why and what to check."""


class ExportUnusable(BulkExportError):
    """The export as the server made it cannot be landed; a new kick-off is the way on."""


class ExportCancelled(ExportUnusable):
    """The server says the export no longer exists (cancelled, expired or deleted)."""


class FileGone(ExportUnusable):
    """The manifest lists a file the server does not have."""


@dataclass(frozen=True)
class Waits:
    """How long to wait: when the server says nothing, at most, and in all."""

    default_seconds: float = DEFAULT_WAIT_SECONDS
    longest_seconds: float = 300.0
    export_timeout_seconds: float = 6 * 3600.0
    retries: int = 5


def retry_after_seconds(value: str | None, default: float, now: float | None = None) -> float:
    """Read ``Retry-After``: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return default
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() holds too
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return default
    return max(0.0, moment - (time.time() if now is None else now))


def outcome_summary(response: requests.Response) -> str:
    """Return an OperationOutcome's issues as ``severity/code`` pairs, bounded.

    The ``diagnostics`` and ``details.text`` of an issue are free text a server may fill with
    resource content, so they are never repeated.
    """
    try:
        body = response.json()
    except ValueError:
        return "no OperationOutcome"
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return "no OperationOutcome"
    issues = [issue for issue in body.get("issue", []) if isinstance(issue, dict)]
    pairs = sorted({f"{str(i.get('severity', '?'))[:12]}/{str(i.get('code', '?'))[:24]}"
                    for i in issues})
    return "OperationOutcome " + (", ".join(pairs[:5]) or "with no issues")


def redacted(url: str) -> str:
    """Return a URL fit for a message: scheme, host and path, never its query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:200]


class BulkDataClient:
    """One FHIR server's Bulk Data endpoint, with the token that opens it."""

    def __init__(self, session: requests.Session, auth: SmartBackendAuth, base_url: str, *,
                 waits: Waits = Waits(), timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = lambda message: None) -> None:
        self._session = session
        self._auth = auth
        self.base_url = base_url.rstrip("/") + "/"
        self._waits = waits
        self._timeout = timeout
        self._sleep = sleep
        self._log = log

    def kick_off(self, resource_types: list[str], since: str | None,
                 group_id: str | None) -> str:
        """Start an export of ``resource_types`` changed since ``since``; return its status URL."""
        path = f"Group/{group_id}/$export" if group_id else "$export"
        params = {"_type": ",".join(resource_types), "_outputFormat": "application/fhir+ndjson"}
        if since:
            params["_since"] = since
        response = self._request("GET", urljoin(self.base_url, path), "the kick-off",
                                 params=params, headers={"Accept": FHIR_JSON,
                                                         "Prefer": "respond-async"})
        if response.status_code != 202:
            raise BulkExportError(
                f"the kick-off of {path} answered HTTP {response.status_code} "
                f"({outcome_summary(response)}); nothing was exported")
        location = response.headers.get("Content-Location")
        if not location:
            raise BulkExportError("the kick-off answered 202 without a Content-Location")
        return urljoin(self.base_url, location)

    def wait_for_manifest(self, status_url: str) -> dict:
        """Poll the status URL until the export is complete; return its manifest."""
        deadline = time.monotonic() + self._waits.export_timeout_seconds
        while True:
            response = self._request("GET", status_url, "the status request",
                                     headers={"Accept": "application/json"})
            if response.status_code == 200:
                try:
                    manifest = response.json()
                except ValueError:
                    raise BulkExportError("the completed export's manifest is not JSON") \
                        from None
                if not isinstance(manifest, dict) or not isinstance(manifest.get("output"),
                                                                    list):
                    raise BulkExportError("the completed export's manifest has no output list")
                return manifest
            if response.status_code in (404, 410):
                raise ExportCancelled(
                    f"the server no longer has the export (HTTP {response.status_code}, "
                    f"{outcome_summary(response)}): it was cancelled, expired or deleted")
            if response.status_code != 202:
                raise BulkExportError(
                    f"the export failed on the server (HTTP {response.status_code}, "
                    f"{outcome_summary(response)})")
            wait = self._wait(response)
            progress = response.headers.get("X-Progress", "")[:40]
            self._log(f"export in progress{': ' + progress if progress else ''}; "
                      f"asking again in {wait:.0f} s")
            if time.monotonic() + wait > deadline:
                raise BulkExportError(
                    f"the export did not complete within "
                    f"{self._waits.export_timeout_seconds:.0f} s; it is left on the server "
                    "and the next run asks for it again")
            self._sleep(wait)

    def download(self, url: str, destination: Path, requires_token: bool,
                 what: str) -> int:
        """Stream one file to ``destination``; return its byte size.

        A file cut short is asked for again from where it stopped (``Range``), or whole when the
        server ignores ranges; an expired token is renewed. Only with ``requiresAccessToken``
        does the token go with the request: file URLs may point at another host.
        """
        for attempt in range(1, self._waits.retries + 2):
            have = destination.stat().st_size if destination.exists() else 0
            headers = {"Accept": "application/fhir+ndjson",
                       # A resumed range is asked for unencoded, so its offset is the file's.
                       "Accept-Encoding": "identity" if have else "gzip"}
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                response = self._request("GET", url, what, headers=headers, stream=True,
                                         with_token=requires_token)
                if response.status_code == 416 and have:
                    return have  # everything was there already
                if response.status_code in (404, 410):
                    raise FileGone(f"{what} answered HTTP {response.status_code}: the manifest "
                                   "lists a file the server does not have")
                if response.status_code not in (200, 206):
                    raise BulkExportError(
                        f"{what} answered HTTP {response.status_code} "
                        f"({outcome_summary(response)})")
                mode = "ab" if response.status_code == 206 else "wb"
                with destination.open(mode) as out:
                    try:
                        # read1 hands over what has arrived, so a cut keeps every byte before it.
                        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
                            out.write(chunk)
                    finally:
                        out.flush()
                        os.fsync(out.fileno())
                return destination.stat().st_size
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                    requests.Timeout, urllib3.exceptions.HTTPError) as error:
                if attempt > self._waits.retries:
                    raise BulkExportError(
                        f"{what} was cut off {attempt} times ({type(error).__name__}); the "
                        "next run resumes it") from None
                self._log(f"{what} was cut off ({type(error).__name__}); resuming")
        raise AssertionError("unreachable")

    def delete(self, status_url: str) -> bool:
        """Tell the server the export's files may go; return whether it agreed."""
        try:
            response = self._request("DELETE", status_url, "the export's deletion")
        except BulkExportError:
            return False
        return response.status_code in (200, 202, 204, 404)

    def _request(self, method: str, url: str, what: str, *, with_token: bool = True,
                 headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
                 stream: bool = False) -> requests.Response:
        """Send one request: 429/503 wait and retry; a 401 takes a new token once."""
        renewed = False
        for attempt in range(1, self._waits.retries + 2):
            sent = dict(headers or {})
            if with_token:
                sent["Authorization"] = f"Bearer {self._auth.token()}"
            try:
                response = self._session.request(method, url, headers=sent, params=params,
                                                 stream=stream, timeout=self._timeout)
            except requests.RequestException as error:
                if stream:
                    raise  # the download resumes from what it has
                if attempt > self._waits.retries:
                    raise BulkExportError(f"{what} to {redacted(url)} failed: "
                                          f"{type(error).__name__}") from None
                self._log(f"{what} failed ({type(error).__name__}); retrying")
                self._sleep(self._waits.default_seconds)
                continue
            if response.status_code == 401 and with_token and not renewed:
                self._log(f"{what}: the access token was refused; asking for a new one")
                self._auth.invalidate()
                renewed = True
                continue
            if response.status_code in (429, 503) and attempt <= self._waits.retries:
                wait = self._wait(response)
                self._log(f"{what} answered HTTP {response.status_code}; waiting {wait:.0f} s "
                          "as the server asks")
                self._sleep(wait)
                continue
            return response
        raise BulkExportError(f"{what} kept answering HTTP {response.status_code}")

    def _wait(self, response: requests.Response) -> float:
        seconds = retry_after_seconds(response.headers.get("Retry-After"),
                                      self._waits.default_seconds)
        return min(seconds, self._waits.longest_seconds)
