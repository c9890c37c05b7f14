"""An issuer's signing keys: discovery, JWKS fetch, cache and rate-limited refresh.

Theory of operation. Verification is local: `KeyCache.key_set(kid)` returns the
cached JWKS without I/O when it knows the `kid` and the set is fresh. When the
`kid` is unknown (the issuer rotated, or the token is forged) the cache refetches
— at most once per `min_refresh_interval`, and concurrent callers share one
fetch. When the set is older than `max_age` a background refresh starts and the
cached keys keep answering. A failed fetch never drops keys already cached, so an
identity provider outage does not lock out tokens signed with known keys.

Fetches go through an injected `httpx.AsyncClient`; nothing here blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from joserfc.jwk import KeySet

from wardgate.identity.ratelimit import Clock, MinIntervalLimiter

DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_DOCUMENT_BYTES = 1024 * 1024  # a JWKS or discovery document larger than this is refused

Fetcher = Callable[[], Awaitable[KeySet]]
Observer = Callable[[str, str], None]  # (outcome, detail)


class KeyFetchError(Exception):
    """Discovery or JWKS could not be fetched or parsed."""


async def get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise KeyFetchError(f"GET {url}: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise KeyFetchError(f"GET {url}: HTTP {response.status_code}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise KeyFetchError(f"GET {url}: document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = response.json()
    except ValueError:
        raise KeyFetchError(f"GET {url}: not JSON") from None
    if not isinstance(document, dict):
        raise KeyFetchError(f"GET {url}: not a JSON object")
    return document


class JwksSource:
    """Fetches an issuer's JWKS, finding `jwks_uri` through discovery unless given."""

    def __init__(self, issuer: str, http: httpx.AsyncClient, jwks_uri: str | None = None) -> None:
        self._issuer = issuer.rstrip("/")
        self._http = http
        self._jwks_uri = jwks_uri

    async def discover(self) -> str:
        document = await get_json(self._http, self._issuer + DISCOVERY_PATH)
        if str(document.get("issuer", "")).rstrip("/") != self._issuer:
            raise KeyFetchError(f"discovery names issuer {document.get('issuer')!r}")
        uri = document.get("jwks_uri")
        if not isinstance(uri, str) or not uri:
            raise KeyFetchError("discovery document has no jwks_uri")
        return uri

    async def __call__(self) -> KeySet:
        if self._jwks_uri is None:
            self._jwks_uri = await self.discover()
        document = await get_json(self._http, self._jwks_uri)
        try:
            keys = KeySet.import_key_set(_signing_keys(document))  # type: ignore[arg-type]
        except Exception as exc:  # joserfc raises several types for bad key material
            raise KeyFetchError(f"JWKS at {self._jwks_uri} is invalid: {exc}") from None
        return keys


def _signing_keys(document: dict[str, Any]) -> dict[str, Any]:
    """Only public signature keys; encryption keys and private parts are ignored."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise KeyFetchError("JWKS has no keys list")
    usable = [
        {name: value for name, value in key.items() if name not in ("d", "p", "q", "dp", "dq")}
        for key in keys
        if isinstance(key, dict) and key.get("use", "sig") == "sig" and key.get("kty") != "oct"
    ]
    return {"keys": usable}


class KeyCache:
    def __init__(
        self,
        fetch: Fetcher,
        *,
        max_age: float = 3600.0,
        min_refresh_interval: float = 10.0,
        clock: Clock = time.monotonic,
        observe: Observer | None = None,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._clock = clock
        self._limiter = MinIntervalLimiter(min_refresh_interval, clock)
        self._observe = observe or (lambda outcome, detail: None)
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._inflight: asyncio.Task[None] | None = None

    @property
    def keys(self) -> KeySet | None:
        return self._keys

    def knows(self, kid: str | None) -> bool:
        if self._keys is None:
            return False
        return kid is None or any(key.kid == kid for key in self._keys)

    async def key_set(self, kid: str | None) -> KeySet | None:
        """Keys to verify a token naming `kid`; refetches (rate-limited) if it is unknown."""
        if self.knows(kid):
            stale = self._clock() - self._fetched_at > self._max_age
            if stale and self._inflight is None and self._limiter.try_acquire():
                self._start_refresh()
            return self._keys
        if self._inflight is None and not self._limiter.try_acquire():
            return self._keys
        await asyncio.shield(self._start_refresh())
        return self._keys

    async def prefetch(self) -> None:
        """Warm the cache at start-up; failures are observed, not raised."""
        if self._limiter.try_acquire():
            await asyncio.shield(self._start_refresh())

    def _start_refresh(self) -> asyncio.Task[None]:
        if self._inflight is None:
            self._inflight = asyncio.get_running_loop().create_task(self._refresh())
        return self._inflight

    async def _refresh(self) -> None:
        try:
            keys = await self._fetch()
        except KeyFetchError as exc:
            self._observe("error", str(exc))
        else:
            self._keys, self._fetched_at = keys, self._clock()
            self._observe("ok", f"{len(keys.keys)} keys")
        finally:
            self._inflight = None

    async def close(self) -> None:
        task = self._inflight
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
