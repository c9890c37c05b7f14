"""Free TCP ports for servers that cannot bind port 0 themselves (PostgreSQL)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on `host` that was free a moment ago.

    The kernel hands out ephemeral ports in sequence, so a port closed here is
    very unlikely to be handed to someone else before the caller binds it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def unused_closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on: for "upstream is down" tests."""
    return free_port(host)
