"""Vault failures as wardgate sees them: one exception with a kind and a clear message."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import hvac.exceptions
import requests

T = TypeVar("T")


class VaultError(Exception):
    """`kind` is unreachable | not_found | forbidden | sealed | invalid | error."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


_KINDS: tuple[tuple[type[Exception], str, str], ...] = (
    (hvac.exceptions.InvalidPath, "not_found", "nothing at {path} (role or secret missing)"),
    (hvac.exceptions.Forbidden, "forbidden", "permission denied on {path}"),
    (hvac.exceptions.Unauthorized, "forbidden", "not authorized for {path}"),
    (hvac.exceptions.VaultDown, "sealed", "Vault is sealed or in maintenance"),
    (hvac.exceptions.InvalidRequest, "invalid", "Vault refused the request for {path}: {detail}"),
    (hvac.exceptions.VaultError, "error", "Vault failed on {path}: {detail}"),
    (requests.Timeout, "unreachable", "Vault did not answer in time"),
    (requests.ConnectionError, "unreachable", "Vault is unreachable"),
    (requests.RequestException, "unreachable", "Vault request failed"),
)


def translate(exc: Exception, path: str) -> VaultError:
    """Map an hvac/requests exception to a `VaultError` (no secrets in the message)."""
    for exc_type, kind, template in _KINDS:
        if isinstance(exc, exc_type):
            detail = "; ".join(getattr(exc, "errors", None) or []) or type(exc).__name__
            return VaultError(template.format(path=path, detail=detail), kind)
    return VaultError(f"Vault call on {path} failed: {type(exc).__name__}", "error")


def guarded(path: str, call: Callable[[], T]) -> T:
    """Run a sync Vault call, translating its failures."""
    try:
        return call()
    except VaultError:
        raise
    except (hvac.exceptions.VaultError, requests.RequestException) as exc:
        raise translate(exc, path) from None
