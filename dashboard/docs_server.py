"""Serve the published dbt docs and Data Docs over HTTP beside the dashboard.

Browsers refuse `file://` links from an `http://` page, so the dashboard's documentation
links went nowhere. The dashboard process starts this small server once: it binds the
dashboard's own address (127.0.0.1 unless told otherwise) and serves only the two docs
folders of the current publication; the marts files beside them are never served.

What is served is judged on the file the request would open, after the URL is decoded and
every symbolic link is followed: a path is served only if it resolves inside one of the two
docs folders (themselves resolved through the publication's links). Checking the raw path
for `..` is not enough: `%2e%2e` is decoded only later, by `translate_path`.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from orchestration.serve.publication import DATA_DOCS_LINK, DOCS_LINK

SERVED_FOLDERS = (DOCS_LINK, DATA_DOCS_LINK)


class DocsHandler(SimpleHTTPRequestHandler):
    """Static files from the docs folders only; quiet, and no other path."""

    def send_head(self):
        """Refuse any path that does not resolve inside a docs folder, before opening it."""
        if not self._is_documentation(Path(self.translate_path(self.path))):
            self.send_error(404, "only the documentation is served here")
            return None
        return super().send_head()

    def _is_documentation(self, target: Path) -> bool:
        resolved = target.resolve()
        for folder in SERVED_FOLDERS:
            root = (Path(self.directory) / folder).resolve()
            if resolved == root or resolved.is_relative_to(root):
                return True
        return False

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the dashboard's console is for the dashboard."""


def docs_address() -> tuple[str, int]:
    """The host and port the docs are served on ($RW_DOCS_HOST, $RW_DOCS_PORT)."""
    return (os.environ.get("RW_DOCS_HOST", "127.0.0.1"),
            int(os.environ.get("RW_DOCS_PORT", "8502")))


def start(serving_dir: Path) -> str:
    """Start the server in a daemon thread (once per address); return its base URL."""
    host, port = docs_address()
    key = (host, port)
    if key not in _SERVERS:
        handler = functools.partial(DocsHandler, directory=str(serving_dir))
        try:
            server = ThreadingHTTPServer((host, port), handler)
        except OSError:  # the port is taken (another dashboard): any free port will do
            server = ThreadingHTTPServer((host, 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True,
                         name="docs-server").start()
        _SERVERS[key] = server
    return f"http://{host}:{_SERVERS[key].server_address[1]}"


_SERVERS: dict[tuple[str, int], ThreadingHTTPServer] = {}
