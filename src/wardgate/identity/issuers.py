"""Build `OidcVerifier`s for the configured issuers, sharing one HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from pathlib import Path

import httpx

from wardgate.config.model import OidcIssuer, StaticToken
from wardgate.eventlog import EventLog
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.jwks import JwksSource, KeyCache, Observer
from wardgate.identity.oidc import OidcVerifier
from wardgate.identity.tokens import StaticTokenVerifier
from wardgate.metrics import Metrics

FETCH_TIMEOUT = 5.0


def _verify_for(settings: OidcIssuer, base_dir: Path) -> ssl.SSLContext | bool:
    if settings.ca_file is None:
        return True
    path = Path(settings.ca_file)
    return ssl.create_default_context(cafile=str(path if path.is_absolute() else base_dir / path))


def _observer(issuer: str, metrics: Metrics | None, log: EventLog | None) -> Observer:
    def observe(outcome: str, detail: str) -> None:
        if metrics is not None:
            metrics.oidc_key_fetches.labels(issuer, outcome).inc()
        if log is not None:
            event = "jwks_refreshed" if outcome == "ok" else "jwks_fetch_failed"
            log.emit(
                event, level="info" if outcome == "ok" else "warning", issuer=issuer, detail=detail
            )

    return observe


def build_verifiers(
    issuers: Iterable[OidcIssuer],
    base_dir: Path,
    *,
    metrics: Metrics | None = None,
    log: EventLog | None = None,
) -> tuple[list[OidcVerifier], list[httpx.AsyncClient]]:
    """One verifier per issuer; returns the HTTP clients too so the caller closes them."""
    verifiers, clients = [], []
    for settings in issuers:
        verify = _verify_for(settings, base_dir)
        client = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False, verify=verify)
        clients.append(client)
        source = JwksSource(settings.issuer, client, settings.jwks_uri)
        cache = KeyCache(
            source,
            max_age=settings.jwks_max_age,
            min_refresh_interval=settings.jwks_min_refresh_interval,
            observe=_observer(settings.issuer, metrics, log),
        )
        verifiers.append(OidcVerifier(settings, cache))
    return verifiers, clients


class IdentityServices:
    """The authenticator for a running gateway, with its issuers' key caches and clients."""

    def __init__(
        self,
        static: Iterable[StaticToken],
        issuers: Iterable[OidcIssuer],
        base_dir: Path,
        *,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
    ) -> None:
        verifiers, self._clients = build_verifiers(issuers, base_dir, metrics=metrics, log=log)
        self.authenticator = Authenticator(StaticTokenVerifier(static), verifiers)
        self._prefetch: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Fetch every issuer's keys in the background; listeners do not wait for it."""
        loop = asyncio.get_running_loop()
        self._prefetch = loop.create_task(self.authenticator.prefetch())

    async def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prefetch
        await self.authenticator.close()
        await asyncio.gather(*(client.aclose() for client in self._clients))
