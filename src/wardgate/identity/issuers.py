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
#: Seconds a dropped issuer's verifier lives on after a reload (tokens in flight).
RETIRE_AFTER = 10.0


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


def _key(settings: OidcIssuer) -> str:
    return settings.model_dump_json()


def build_verifier(
    settings: OidcIssuer,
    base_dir: Path,
    *,
    metrics: Metrics | None = None,
    log: EventLog | None = None,
) -> tuple[OidcVerifier, httpx.AsyncClient]:
    """One issuer's verifier and the HTTP client its key cache fetches with."""
    verify = _verify_for(settings, base_dir)
    client = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False, verify=verify)
    source = JwksSource(settings.issuer, client, settings.jwks_uri)
    cache = KeyCache(
        source,
        max_age=settings.jwks_max_age,
        min_refresh_interval=settings.jwks_min_refresh_interval,
        observe=_observer(settings.issuer, metrics, log),
    )
    return OidcVerifier(settings, cache), client


def build_verifiers(
    issuers: Iterable[OidcIssuer],
    base_dir: Path,
    *,
    metrics: Metrics | None = None,
    log: EventLog | None = None,
) -> tuple[list[OidcVerifier], list[httpx.AsyncClient]]:
    """One verifier per issuer; returns the HTTP clients too so the caller closes them."""
    built = [build_verifier(s, base_dir, metrics=metrics, log=log) for s in issuers]
    return [verifier for verifier, _ in built], [client for _, client in built]


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
        self._base_dir, self._metrics, self._log = base_dir, metrics, log
        built = [build_verifier(s, base_dir, metrics=metrics, log=log) for s in issuers]
        # settings (as JSON) → (verifier, client): a reload keeps an issuer whose
        # settings stay the same
        self._built: dict[str, tuple[OidcVerifier, httpx.AsyncClient]] = {
            _key(verifier.settings): (verifier, client) for verifier, client in built
        }
        self.authenticator = Authenticator(
            StaticTokenVerifier(static), [verifier for verifier, _ in built]
        )
        self._prefetch: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Fetch every issuer's keys in the background; listeners do not wait for it."""
        loop = asyncio.get_running_loop()
        self._prefetch = loop.create_task(self.authenticator.prefetch())

    def replace_issuers(self, issuers: Iterable[OidcIssuer]) -> list[str]:
        """Put the reloaded issuer list in force; returns the issuers that changed.

        An issuer whose settings are unchanged keeps its verifier and cached keys; a
        new or changed one gets a fresh verifier whose keys are fetched in the
        background; a dropped one is closed after `RETIRE_AFTER` seconds, so a token
        being verified as the reload lands finishes against the keys it started with.
        """
        kept: dict[str, tuple[OidcVerifier, httpx.AsyncClient]] = {}
        fresh: list[OidcVerifier] = []
        for settings in issuers:
            built = self._built.get(_key(settings))
            if built is None:
                built = build_verifier(
                    settings, self._base_dir, metrics=self._metrics, log=self._log
                )
                fresh.append(built[0])
            kept[_key(settings)] = built
        dropped = [built for key, built in self._built.items() if key not in kept]
        self._built = kept
        self.authenticator.replace_oidc(verifier for verifier, _ in kept.values())
        loop = asyncio.get_running_loop()
        for verifier in fresh:
            self._track(loop.create_task(verifier.keys.prefetch()))
        if dropped:
            self._track(loop.create_task(self._retire(dropped)))
        changed = {verifier.issuer for verifier in fresh}
        changed |= {verifier.issuer for verifier, _ in dropped}
        return sorted(changed)

    def _track(self, task: asyncio.Task[None]) -> None:
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _retire(self, dropped: list[tuple[OidcVerifier, httpx.AsyncClient]]) -> None:
        await asyncio.sleep(RETIRE_AFTER)
        await asyncio.gather(*(verifier.keys.close() for verifier, _ in dropped))
        await asyncio.gather(*(client.aclose() for _, client in dropped))

    async def close(self) -> None:
        pending = [task for task in (self._prefetch, *self._retiring) if task is not None]
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.authenticator.close()
        await asyncio.gather(*(client.aclose() for _, client in self._built.values()))
