"""Vault client: hvac underneath, an asyncio face on top.

hvac is synchronous (requests). `SyncVault` wraps one `hvac.Client` with the
login lifecycle — log in lazily, renew or re-login once 2/3 of the token's TTL
has passed, re-login once and retry when Vault answers 403 (a revoked or
expired token) — and is used as is while the configuration loads. `VaultClient`
runs the same calls on a small dedicated thread pool (`vault.max_concurrency`
workers), so Vault latency never blocks the event loop and a slow Vault cannot
starve the loop's default executor.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import hvac
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from wardgate.config.model import VaultConfig
from wardgate.identity.ratelimit import Clock
from wardgate.metrics import Metrics
from wardgate.vault.auth import LoginResult, SecretSources, default_sources, login
from wardgate.vault.errors import VaultError, guarded

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SecretResponse:
    """One secret read: the lease (empty id for KV) and the data, kept out of repr."""

    lease_id: str
    lease_duration: int
    renewable: bool
    data: Mapping[str, Any] = field(repr=False)


def retrying_session() -> requests.Session:
    """One retry on a broken connection: a pooled keep-alive socket dies when Vault
    restarts or a load balancer fails over, and the next call must not fail for it.
    A retried read may create one extra dynamic secret; its TTL bounds it."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=None)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def hvac_client(config: VaultConfig, base_dir: Path) -> hvac.Client:
    verify: str | bool = True
    if config.ca_file:
        path = Path(config.ca_file)
        verify = str(path if path.is_absolute() else base_dir / path)
    return hvac.Client(
        url=config.url,
        verify=verify,
        timeout=config.timeout,
        namespace=config.namespace,
        session=retrying_session(),
    )


class SyncVault:
    def __init__(
        self,
        config: VaultConfig,
        base_dir: Path,
        *,
        client: hvac.Client | None = None,
        sources: SecretSources | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.config = config
        self._client = client or hvac_client(config, base_dir)
        self._sources = sources or default_sources(base_dir)
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh_at: float | None = None  # None: not logged in
        self._renewable = False

    # -- login lifecycle -------------------------------------------------------

    def _login(self) -> None:
        result = login(self._client, self.config.auth, self._sources)
        self._remember(result)

    def _remember(self, result: LoginResult) -> None:
        self._renewable = result.renewable
        ttl = result.ttl or float("inf")
        self._refresh_at = self._clock() + ttl * self.config.renew_fraction

    def _ensure_token(self) -> None:
        with self._lock:
            if self._refresh_at is None:
                self._login()
            elif self._clock() >= self._refresh_at:
                self._renew_or_login()

    def _renew_or_login(self) -> None:
        if self._renewable:
            try:
                response = guarded("auth/token/renew-self", self._client.auth.token.renew_self)
                auth = response.get("auth") or {}
                self._remember(LoginResult(int(auth.get("lease_duration") or 0), True))
                return
            except VaultError:
                pass
        self._login()

    def _call(self, path: str, call: Callable[[], T]) -> T:
        self._ensure_token()
        try:
            return guarded(path, call)
        except VaultError as exc:
            if exc.kind != "forbidden":
                raise
        with self._lock:  # the token may have been revoked or expired: log in once more
            self._login()
        return guarded(path, call)

    # -- operations ------------------------------------------------------------

    def read(self, path: str) -> SecretResponse:
        response = self._call(path, lambda: self._client.read(path))
        if not isinstance(response, dict):
            raise VaultError(f"nothing at {path} (role or secret missing)", "not_found")
        return SecretResponse(
            lease_id=str(response.get("lease_id") or ""),
            lease_duration=int(response.get("lease_duration") or 0),
            renewable=bool(response.get("renewable")),
            data=response.get("data") or {},
        )

    def get(self, path: str) -> Mapping[str, Any] | None:
        """A raw GET (used for mount discovery); None when Vault has nothing there."""
        try:
            response = self._call(path, lambda: self._client.read(path))
        except VaultError as exc:
            if exc.kind in ("not_found", "forbidden"):
                return None
            raise
        return response if isinstance(response, dict) else None

    def renew(self, lease_id: str, increment: int) -> int:
        """Extend a lease; returns the TTL Vault granted (may be less: max_ttl)."""
        response = self._call(
            "sys/leases/renew",
            lambda: self._client.sys.renew_lease(lease_id=lease_id, increment=increment),
        )
        return int((response or {}).get("lease_duration") or 0)

    def revoke(self, lease_id: str) -> None:
        self._call("sys/leases/revoke", lambda: self._client.sys.revoke_lease(lease_id=lease_id))


class VaultClient:
    """`SyncVault` on a dedicated thread pool, timed into `wardgate_vault_request_seconds`."""

    def __init__(
        self,
        sync: SyncVault,
        *,
        metrics: Metrics | None = None,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.sync = sync
        self._metrics = metrics
        workers = sync.config.max_concurrency
        self._executor = executor or ThreadPoolExecutor(workers, thread_name_prefix="vault")

    async def _run(self, operation: str, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        finally:
            if self._metrics is not None:
                histogram = self._metrics.vault_request_seconds.labels(operation)
                histogram.observe(time.perf_counter() - started)

    async def read(self, path: str) -> SecretResponse:
        return await self._run("read", lambda: self.sync.read(path))

    async def renew(self, lease_id: str, increment: int) -> int:
        return await self._run("renew", lambda: self.sync.renew(lease_id, increment))

    async def revoke(self, lease_id: str) -> None:
        await self._run("revoke", lambda: self.sync.revoke(lease_id))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
