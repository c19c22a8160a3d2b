"""Finding an entity's files in the landing folder, in a stable order, with their hashes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from orchestration.extract.spec import EntitySpec
from orchestration.load.errors import LandingFolderError, SourceFileError


@dataclass(frozen=True)
class LandingFile:
    """A file to load: where it is, its path relative to the landing folder, its content hash."""

    path: Path
    relative: str
    sha256: str
    size: int


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks so memory stays flat."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _landing_file(landing: Path, path: Path) -> LandingFile:
    return LandingFile(path, path.relative_to(landing).as_posix(), file_sha256(path),
                       path.stat().st_size)


def source_folder(landing: Path, spec: EntitySpec) -> Path:
    """Return the entity's folder, or raise an error that names what is missing."""
    if not landing.is_dir():
        raise LandingFolderError(
            f"landing folder {landing} does not exist; set RW_LANDING_DIR (or the run "
            "config's landing_dir) to the folder your source systems deliver to, or run "
            "`make demo-data` to generate one")
    folder = landing / spec.folder
    if not folder.is_dir():
        raise LandingFolderError(
            f"{folder} does not exist: the {spec.source} source delivers {spec.name} files "
            f"to {spec.folder}/ inside the landing folder (see docs/sources.md)")
    return folder


def discover(landing: Path, spec: EntitySpec) -> list[LandingFile]:
    """Return the entity's landing files, sorted by relative path."""
    folder = source_folder(landing, spec)
    if spec.file_format == "fhir_ndjson":
        paths = _from_manifests(landing, folder, spec)
    else:
        paths = [p for p in folder.rglob(spec.pattern) if p.is_file()]
    return sorted((_landing_file(landing, p) for p in paths), key=lambda f: f.relative)


def _from_manifests(landing: Path, folder: Path, spec: EntitySpec) -> list[Path]:
    """Return the NDJSON files that bulk-export manifests list for the spec's resource type."""
    paths = []
    for manifest in sorted(folder.rglob("manifest.json")):
        relative = manifest.relative_to(landing).as_posix()
        try:
            document = json.loads(manifest.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SourceFileError(relative, f"not a valid bulk-export manifest: {error}") from None
        outputs = document.get("output") if isinstance(document, dict) else None
        if not isinstance(outputs, list):
            raise SourceFileError(relative, "the manifest has no `output` array")
        for number, entry in enumerate(outputs, start=1):
            if not isinstance(entry, dict) or "type" not in entry or "url" not in entry:
                raise SourceFileError(relative, f"output entry {number} lacks `type` or `url`")
            if entry["type"] != spec.resource_type:
                continue
            name = PurePosixPath(str(entry["url"]).split("?")[0]).name
            path = manifest.parent / name
            if not path.is_file():
                raise SourceFileError(relative, f"output entry {number} lists {name}, which "
                                      "is not in the export folder")
            paths.append(path)
    return paths
