"""Wardgate-issued backend keys and the routing of CancelRequests.

Clients never learn an upstream backend's real process id and secret: each session
gets a random (pid, secret) pair from the gateway, mapped here to the upstream
target. A CancelRequest is forwarded only when both halves match; a forged or stale
key cancels nothing (as the server itself does, it gets no answer).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CancelTarget:
    """The upstream backend a wardgate key stands for."""

    process_id: int
    secret_key: int
    host: str
    port: int
    unix_path: str = ""


class CancelRegistry:
    def __init__(self) -> None:
        self._targets: dict[int, tuple[int, CancelTarget]] = {}

    def issue(self, target: CancelTarget) -> tuple[int, int]:
        """A fresh (pid, secret) for the client, unique within this listener."""
        while True:
            pid = secrets.randbelow(2**31 - 2) + 1
            if pid not in self._targets:
                break
        secret = secrets.randbits(32) - 2**31
        self._targets[pid] = (secret, target)
        return pid, secret

    def lookup(self, process_id: int, secret_key: int) -> CancelTarget | None:
        entry = self._targets.get(process_id)
        if entry is None:
            return None
        expected, target = entry
        ok = hmac.compare_digest(
            expected.to_bytes(4, "big", signed=True), secret_key.to_bytes(4, "big", signed=True)
        )
        return target if ok else None

    def forget(self, process_id: int) -> None:
        self._targets.pop(process_id, None)

    def __len__(self) -> int:
        return len(self._targets)
