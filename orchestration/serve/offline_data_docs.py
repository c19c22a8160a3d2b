"""Make a published Data Docs site render with no network: its scripts, styles and fonts local.

Great Expectations writes Data Docs pages that load jQuery, Bootstrap, bootstrap-table,
Font Awesome and Vega from public CDNs, and its logo from S3. A hospital network (or a
laptop on a train) reaches none of them, and the pages then open unstyled with empty result
tables, because bootstrap-table draws those tables. The same files, taken from the npm
registry at the versions the pages ask for, are kept in `data_docs_assets/` (their licences
beside them; SOURCES.md says where each came from). When a site is published, they are
copied into it as `_assets/`, and every page's references are rewritten to them, so the
site works wherever it is opened, served or from disk.

A reference to a host we have no copy for is left as it is, and `external_references` names
it, so a new GX release that adds a CDN file shows up in the test rather than as a
broken page.
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("data_docs_assets")
ASSETS_FOLDER = "_assets"

# Each CDN address (without its query) that GX pages use, and the local copy that replaces it.
LOCAL_COPIES = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "forevolve-bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png":
        "logo.svg",
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png":
        "logo.svg",
}

# A src= or href= of a stylesheet, script or image: what a browser fetches to draw the page
# (an <a href> is a link the reader may follow, not something the page loads).
_LOADED = re.compile(r'(<(?:script|link|img)\b[^>]*?\b(?:src|href)=")(https?://[^"]+)(")')


def localize(site: Path) -> None:
    """Copy the assets into ``site`` and point every page of it at them."""
    _copy_with_process_modes(ASSETS, site / ASSETS_FOLDER)
    for page in site.rglob("*.html"):
        depth = len(page.relative_to(site).parts) - 1
        prefix = "../" * depth + ASSETS_FOLDER + "/"
        text = page.read_text(encoding="utf-8")
        page.write_text(_LOADED.sub(functools.partial(_local, prefix), text), encoding="utf-8")


def _copy_with_process_modes(source: Path, target: Path) -> None:
    """Copy a tree as files this process creates: their modes from its umask, not the source's.

    `shutil.copytree` copies the repository's 0644/0755 modes, which would leave the copy
    readable by every user of the machine however private the run's umask is.
    """
    for path in sorted(source.rglob("*")):
        copy = target / path.relative_to(source)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)


def _local(prefix: str, match: re.Match[str]) -> str:
    copy = LOCAL_COPIES.get(match.group(2).split("?", 1)[0])
    return match.group(0) if copy is None else f"{match.group(1)}{prefix}{copy}{match.group(3)}"


def external_references(site: Path) -> set[str]:
    """Every address outside the site that a page of it still loads (without queries)."""
    return {match.group(2).split("?", 1)[0]
            for page in site.rglob("*.html")
            for match in _LOADED.finditer(page.read_text(encoding="utf-8"))}
