"""What every test that starts a server on loopback needs: a port nobody listens on."""

from __future__ import annotations

import socket


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
