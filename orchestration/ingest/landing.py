"""Finding an entity's files in the landing folder, in a stable order, with their hashes.

A file's identity is the SHA-256 of its content. Hashing every file on every run made the
cost of a run grow with the landing folder's history (16 s for a year at scale 100, twice
a run), so a hash is reused while the file's stamp (size, modification and change times in
nanoseconds, inode) is the one it was hashed at: the way git and rsync tell a file has not
changed. Any write gives a file a new change time, which no tool can set back, so changed
content is always hashed again (decision 107). As in git, a file changed within the last
seconds is not trusted by its stamp: file times tick in milliseconds, and a rewrite in the
same tick as the hash would keep the stamp.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from orchestration.ingest.entities.entity_spec import EntitySpec
from orchestration.ingest.load_errors import LandingFolderError

MISSING_FILE = "missing"  # the ledger's file_sha256 for a listed file that is not there


Stamp = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
KnownHashes = Mapping[str, tuple[Stamp, str]]  # relative path -> (stamp when hashed, sha256)
UNTRUSTED: Stamp = (-1, -1, -1, 0)  # recorded for a file too fresh to be judged by its stamp
RACY_NANOSECONDS = 2_000_000_000


@dataclass(frozen=True)
class LandingFile:
    """A file to load: where it is, its path relative to the landing folder, its content hash."""

    path: Path
    relative: str
    sha256: str
    size: int
    stamp: Stamp  # the file's stamp, taken before it was hashed (`file_stamp`)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks so memory stays flat."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_stamp(stat: os.stat_result) -> Stamp:
    """Return what tells a file changed without reading it: size, times and inode.

    A file changed in the last two seconds gets `UNTRUSTED`, which matches no file, so its
    hash is taken again on the next run.
    """
    if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) < RACY_NANOSECONDS:
        return UNTRUSTED
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def _landing_file(landing: Path, path: Path, known: KnownHashes) -> LandingFile:
    relative = path.relative_to(landing).as_posix()
    stat = path.stat()  # before hashing: a write meanwhile changes the stamp again
    stamp = file_stamp(stat)
    hashed = known.get(relative)
    sha256 = hashed[1] if hashed is not None and stamp != UNTRUSTED \
        and tuple(hashed[0]) == stamp else file_sha256(path)
    return LandingFile(path, relative, sha256, stat.st_size, stamp)


@dataclass(frozen=True)
class Rejection:
    """A landing file that cannot be read as a whole, and why (no content, bounded)."""

    relative: str
    sha256: str
    size: int
    reason: str


@dataclass
class Discovery:
    """What an entity's folder holds: files to load, files rejected, or no folder at all."""

    files: list[LandingFile] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    missing_folder: str | None = None
    # Resource types bulk-export manifests list that no entity loads, with their file count.
    unloaded_types: dict[str, int] = field(default_factory=dict)


def require_landing(landing: Path) -> None:
    """Raise an error naming the landing folder when it does not exist (a setting is wrong)."""
    if not landing.is_dir():
        raise LandingFolderError(
            f"landing folder {landing} does not exist; set RW_LANDING_DIR (or the run "
            "config's landing_dir) to the folder your source systems deliver to, or run "
            "`make demo-data` to generate one")


def discover(landing: Path, spec: EntitySpec, known: KnownHashes | None = None) -> Discovery:
    """Return the entity's landing files, sorted by relative path, and the rejected ones.

    A missing landing folder is a setting to fix and raises; a source that has delivered
    nothing yet (its folder is absent) loads nothing and says so, so the other sources and
    every mart still build. ``known`` holds hashes taken before, reused for a file whose
    stamp is unchanged.
    """
    require_landing(landing)
    folder = landing / spec.folder
    if not folder.is_dir():
        return Discovery(missing_folder=f"{spec.folder}/ does not exist: the {spec.source} "
                                        f"source has delivered no {spec.name} files yet")
    discovery = Discovery()
    if spec.file_format.listed_in_manifests:
        paths = _from_manifests(landing, folder, spec, discovery)
    else:
        paths = [p for p in folder.rglob(spec.pattern) if p.is_file()]
    discovery.files = sorted((_landing_file(landing, p, known or {}) for p in paths),
                             key=lambda f: f.relative)
    return discovery


def _from_manifests(landing: Path, folder: Path, spec: EntitySpec,
                    discovery: Discovery) -> list[Path]:
    """Return the NDJSON files that bulk-export manifests list for the spec's resource type.

    A manifest that is not a valid bulk-export manifest, or an entry naming a file that is not
    in the export folder, is rejected with its reason; the other manifests still load.
    """
    from orchestration.ingest.entities.fhir_entities import FHIR_ENTITIES

    loaded_types = {entity.resource_type for entity in FHIR_ENTITIES}
    paths = []
    for manifest in sorted(folder.rglob("manifest.json")):
        relative = manifest.relative_to(landing).as_posix()

        def reject(reason: str, manifest: Path = manifest, relative: str = relative) -> None:
            discovery.rejected.append(Rejection(relative, file_sha256(manifest),
                                                manifest.stat().st_size, reason))

        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            reject(f"not a valid bulk-export manifest: {type(error).__name__} at "
                   f"position {getattr(error, 'pos', getattr(error, 'start', '?'))}")
            continue
        outputs = document.get("output") if isinstance(document, dict) else None
        if not isinstance(outputs, list):
            reject("the manifest has no `output` array")
            continue
        for number, entry in enumerate(outputs, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("type"), str) \
                    or not isinstance(entry.get("url"), str):
                reject(f"output entry {number} lacks a `type` or `url` string")
                continue
            if entry["type"] != spec.resource_type:
                if entry["type"] not in loaded_types:
                    name = safe_name(entry["type"], 40)
                    discovery.unloaded_types[name] = discovery.unloaded_types.get(name, 0) + 1
                continue
            name = PurePosixPath(entry["url"].split("?")[0]).name
            path = manifest.parent / name
            if not name or not path.is_file():
                missing = (manifest.parent / name).relative_to(landing).as_posix() \
                    if name else relative
                discovery.rejected.append(Rejection(
                    missing, MISSING_FILE, 0, f"{relative} output entry {number} lists "
                    f"{safe_name(name)}, which is not in the export folder"))
                continue
            paths.append(path)
    return paths


def safe_name(name: str, limit: int = 80) -> str:
    """Return a file or column name fit for a message: printable, bounded, never content."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in name)
    return printable if len(printable) <= limit else printable[:limit] + "..."
