"""One Bulk Data export, from kick-off to a folder in the landing, atomically and resumably.

The export is staged in ``<landing>/.extract/fhir_bulk/`` (outside the folders the loader and
the landing sensor read) and renamed whole into ``ehr/<export>/`` with a ``manifest.json``
whose ``url`` entries name the local files: the layout the loader reads. A state file there
keeps the pending export's status URL (so a run killed while the server works, or halfway
through the downloads, picks the same export up again) and the last export's
``transactionTime``, the next run's ``_since``. A failure that the same export cannot recover
from (cancelled on the server, a listed file gone, a count that does not add up) removes the
staging folder and the pending status, so nothing half-written is left and the next run asks
again for the same window.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.extract.bulk_data_client import BulkDataClient, ExportUnusable
from orchestration.extract.durable_files import fsync_folder, write_atomically

STAGING = Path(".extract") / "fhir_bulk"
STATE_FILE = "state.json"
EHR_FOLDER = "ehr"


@dataclass
class ExportResult:
    """What one run of the extractor did, for the asset's metadata and checks."""

    folder: Path | None
    transaction_time: str | None
    since: str | None
    files_by_type: Counter = field(default_factory=Counter)
    resources_by_type: Counter = field(default_factory=Counter)
    bytes_downloaded: int = 0
    # The server's `error` files: OperationOutcome issues counted by severity and code.
    server_issues: Counter = field(default_factory=Counter)
    deleted_on_server: bool = False
    already_landed: bool = False


class ExportState:
    """The state file: the pending export's status URL and the last ``transactionTime``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict = json.loads(path.read_text()) if path.is_file() else {}

    @property
    def since(self) -> str | None:
        """The last landed export's transactionTime: the next kick-off's ``_since``."""
        return self.data.get("since")

    @property
    def pending(self) -> str | None:
        """The status URL of an export kicked off and not yet landed."""
        return self.data.get("pending_status_url")

    def save(self, **changes: object) -> None:
        """Apply ``changes`` (None removes a key) and write the file atomically."""
        self.data.update(changes)
        self.data = {k: v for k, v in self.data.items() if v is not None}
        write_atomically(self.path, json.dumps(self.data, indent=2).encode())


def export_name(transaction_time: str) -> str:
    """Return the landing folder name of an export: ``export_<transactionTime, compact>``."""
    compact = "".join(ch for ch in transaction_time if ch.isalnum())
    return f"export_{compact[:24]}"


def run_export(client: BulkDataClient, landing: Path, resource_types: list[str],
               group_id: str | None, log: Callable[[str], None]) -> ExportResult:
    """Export ``resource_types`` since the last export and land them as one folder."""
    staging_root = landing / STAGING
    staging_root.mkdir(parents=True, exist_ok=True)
    state = ExportState(staging_root / STATE_FILE)
    since = state.since
    status_url = state.pending
    if status_url:
        log("resuming the export a previous run started")
    else:
        status_url = client.kick_off(resource_types, since, group_id)
        state.save(pending_status_url=status_url)
        log(f"export started{' for changes since ' + since if since else ' (everything)'}")
    try:
        manifest = client.wait_for_manifest(status_url)
        result = _land(client, manifest, landing, staging_root, since, log)
    except ExportUnusable:
        _abandon(state, staging_root)
        raise
    state.save(since=result.transaction_time, pending_status_url=None)
    result.deleted_on_server = client.delete(status_url)
    return result


def _abandon(state: ExportState, staging_root: Path) -> None:
    for partial in staging_root.glob("export_*"):
        shutil.rmtree(partial, ignore_errors=True)
    state.save(pending_status_url=None)


def _land(client: BulkDataClient, manifest: dict, landing: Path, staging_root: Path,
          since: str | None, log: Callable[[str], None]) -> ExportResult:
    transaction_time = manifest.get("transactionTime")
    if not isinstance(transaction_time, str) or not transaction_time:
        raise ExportUnusable("the manifest has no transactionTime")
    name = export_name(transaction_time)
    final = landing / EHR_FOLDER / name
    result = ExportResult(final, transaction_time, since)
    if final.exists():
        result.already_landed = True
        log(f"{EHR_FOLDER}/{name} is already in the landing; nothing to download")
        return result
    staging = staging_root / name
    staging.mkdir(exist_ok=True)
    requires_token = bool(manifest.get("requiresAccessToken", False))
    outputs = _entries(manifest, "output")
    errors = _entries(manifest, "error")
    local_outputs = []
    for number, entry in enumerate(outputs, start=1):
        resource_type = entry["type"]
        index = result.files_by_type[resource_type]
        result.files_by_type[resource_type] += 1
        local = f"{resource_type}.{index:03d}.ndjson"
        what = f"file {number} of {len(outputs)} ({resource_type})"
        count = _fetch(client, entry, staging / local, requires_token, what, result)
        expected = entry.get("count")
        if isinstance(expected, int) and expected != count:
            raise ExportUnusable(f"{what} holds {count} resources; the manifest says "
                                 f"{expected}")
        result.resources_by_type[resource_type] += count
        local_outputs.append({"type": resource_type, "url": local, "count": count})
    local_errors = []
    for number, entry in enumerate(errors, start=1):
        local = f"errors/OperationOutcome.{number - 1:03d}.ndjson"
        (staging / "errors").mkdir(exist_ok=True)
        what = f"error file {number} of {len(errors)}"
        _fetch(client, entry, staging / local, requires_token, what, result)
        result.server_issues.update(_issue_codes(staging / local))
        local_errors.append({"type": "OperationOutcome", "url": local})
    landed_manifest = {"transactionTime": transaction_time,
                       "request": str(manifest.get("request", ""))[:500],
                       "requiresAccessToken": requires_token,
                       "output": local_outputs, "error": local_errors}
    write_atomically(staging / "manifest.json", json.dumps(landed_manifest, indent=2).encode())
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, final)
    fsync_folder(final.parent)
    log(f"landed {EHR_FOLDER}/{name}: {sum(result.resources_by_type.values())} resources in "
        f"{len(local_outputs)} files")
    return result


def _entries(manifest: dict, key: str) -> list[dict]:
    entries = manifest.get(key) or []
    if not isinstance(entries, list):
        raise ExportUnusable(f"the manifest's `{key}` is not a list")
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or (
                key == "output" and not isinstance(entry.get("type"), str)):
            raise ExportUnusable(f"the manifest's {key} entry {number} lacks a type or url")
    return entries


def _fetch(client: BulkDataClient, entry: dict, destination: Path, requires_token: bool,
           what: str, result: ExportResult) -> int:
    """Download one listed file unless a previous run finished it; return its line count.

    A file is finished once renamed from ``.part``; a ``.part`` left by a crash is resumed.
    """
    partial = destination.with_name(destination.name + ".part")
    if not destination.exists():
        result.bytes_downloaded += client.download(entry["url"], partial, requires_token, what)
        os.replace(partial, destination)
    with destination.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def _issue_codes(path: Path) -> Counter:
    """Count an error file's OperationOutcome issues by ``severity/code``; no free text."""
    counts: Counter = Counter()
    with path.open("rb") as lines:
        for line in lines:
            try:
                outcome = json.loads(line)
            except ValueError:
                counts["unreadable/line"] += 1
                continue
            for issue in outcome.get("issue", []) if isinstance(outcome, dict) else []:
                if isinstance(issue, dict):
                    counts[f"{str(issue.get('severity', '?'))[:12]}/"
                           f"{str(issue.get('code', '?'))[:24]}"] += 1
    return counts
