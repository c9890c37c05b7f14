"""`LeasePool`: dynamic credentials leased per (owner, path), shared, renewed, revoked.

Theory of operation. `acquire(owner, path)` hands out the credential of a live,
shareable lease for that key, or reads a new one from Vault — concurrent callers
for the same key share one read (single flight), so a storm of connections from
one identity costs one Vault round trip and one database role. Each lease has one
maintenance task that follows `schedule.plan`: renew at 2/3 of the TTL while it
lives, revoke it once it has been unused for `idle_reuse` seconds, forget it when
it expires. `release` only counts down; a lease whose reuse window is 0 is
revoked at once. `close` revokes everything (gateway shutdown).

The password never leaves the `UpstreamCredential` (repr=False) and is never
logged; the lease id is logged because revoking by id needs Vault privileges.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from wardgate.eventlog import EventLog
from wardgate.identity.ratelimit import Clock
from wardgate.metrics import Metrics
from wardgate.seam import UpstreamCredential
from wardgate.vault.client import SecretResponse
from wardgate.vault.errors import VaultError
from wardgate.vault.schedule import (
    LeaseClock,
    Step,
    after_failed_renewal,
    after_renewal,
    plan,
    shareable,
)


class LeaseBackend(Protocol):
    async def read(self, path: str) -> SecretResponse: ...

    async def renew(self, lease_id: str, increment: int) -> int: ...

    async def revoke(self, lease_id: str) -> None: ...


@dataclass(eq=False)
class Lease:
    key: tuple[str, str]
    lease_id: str
    credential: UpstreamCredential
    clock: LeaseClock
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return self.key[1]


def credential_from(data: Mapping[str, object], path: str) -> UpstreamCredential:
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise VaultError(f"{path} returned no username/password", "invalid")
    return UpstreamCredential(username=username, password=password)


class LeasePool:
    def __init__(
        self,
        backend: LeaseBackend,
        *,
        idle_reuse: float = 30.0,
        renew_fraction: float = 2 / 3,
        clock: Clock = time.monotonic,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
    ) -> None:
        self._backend = backend
        self._idle_reuse = idle_reuse
        self._fraction = renew_fraction
        self._clock = clock
        self._metrics = metrics
        self._log = log
        self._current: dict[tuple[str, str], Lease] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[Lease]] = {}
        self._by_username: dict[str, Lease] = {}

    @property
    def leases(self) -> tuple[Lease, ...]:
        return tuple(self._by_username.values())

    # -- acquire / release -----------------------------------------------------

    async def acquire(self, owner: str, path: str) -> UpstreamCredential:
        key = (owner, path)
        lease = self._current.get(key)
        if lease is not None and shareable(lease.clock, self._clock()):
            self._count("reuse", "ok")
        else:
            lease = await self._await_new(key)
        lease.clock.users += 1
        lease.clock.idle_since = None
        lease.changed.set()
        return lease.credential

    async def _await_new(self, key: tuple[str, str]) -> Lease:
        task = self._pending.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._new_lease(key))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._abandoned)
            raise

    def _abandoned(self, task: asyncio.Task[Lease]) -> None:
        """Every waiter left before the read finished: start the idle clock."""
        if task.cancelled() or task.exception() is not None:
            return
        lease = task.result()
        if lease.clock.users == 0 and lease.clock.idle_since is None:
            lease.clock.idle_since = self._clock()
            lease.changed.set()

    async def _new_lease(self, key: tuple[str, str]) -> Lease:
        path = key[1]
        try:
            response = await self._backend.read(path)
            credential = credential_from(response.data, path)
        except VaultError as exc:
            self._count("lease", "error")
            self._emit("vault_lease_failed", "warning", path=path, reason=exc.message)
            raise
        now = self._clock()
        ttl = float(response.lease_duration)
        clock = LeaseClock(ttl=ttl, granted_at=now, granted=ttl, renewable=response.renewable)
        lease = Lease(key, response.lease_id, credential, clock)
        self._current[key] = lease
        self._by_username[credential.username] = lease
        lease.task = asyncio.get_running_loop().create_task(self._maintain(lease))
        self._count("lease", "ok")
        self._gauge(path, 1)
        self._emit(
            "vault_lease",
            path=path,
            lease_id=lease.lease_id,
            ttl=ttl,
            upstream_user=credential.username,
        )
        return lease

    async def release(self, credential: UpstreamCredential) -> None:
        lease = self._by_username.get(credential.username)
        if lease is None or lease.clock.users == 0:
            return
        lease.clock.users -= 1
        if lease.clock.users == 0:
            lease.clock.idle_since = self._clock()
            if self._idle_reuse == 0:
                await self._finish(lease, revoke=True)
                return
        lease.changed.set()

    # -- maintenance -----------------------------------------------------------

    async def _maintain(self, lease: Lease) -> None:
        while True:
            step = plan(
                lease.clock, self._clock(), fraction=self._fraction, idle_reuse=self._idle_reuse
            )
            if step.step is Step.WAIT:
                await self._wait(lease, step.at - self._clock())
            elif step.step is Step.RENEW:
                await self._renew(lease)
            else:
                await self._finish(lease, revoke=step.step is Step.REVOKE, from_task=True)
                return

    async def _wait(self, lease: Lease, seconds: float) -> None:
        lease.changed.clear()
        timeout = None if seconds == float("inf") else max(0.0, seconds)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lease.changed.wait(), timeout)

    async def _renew(self, lease: Lease) -> None:
        try:
            granted = await self._backend.renew(lease.lease_id, int(lease.clock.ttl))
        except VaultError as exc:
            after_failed_renewal(lease.clock, self._clock())
            self._count("renew", "error")
            self._emit(
                "vault_lease_renew_failed",
                "warning",
                path=lease.path,
                lease_id=lease.lease_id,
                reason=exc.message,
            )
            return
        after_renewal(lease.clock, self._clock(), granted)
        self._count("renew", "ok")
        self._emit(
            "vault_lease_renewed",
            path=lease.path,
            lease_id=lease.lease_id,
            ttl=granted,
            capped=lease.clock.capped,
        )

    async def _finish(self, lease: Lease, *, revoke: bool, from_task: bool = False) -> None:
        self._forget(lease)
        if lease.task is not None and not from_task:
            lease.task.cancel()
        if not revoke:
            self._emit("vault_lease_expired", path=lease.path, lease_id=lease.lease_id)
            return
        try:
            await self._backend.revoke(lease.lease_id)
        except VaultError as exc:
            self._count("revoke", "error")
            self._emit(
                "vault_lease_revoke_failed",
                "warning",
                path=lease.path,
                lease_id=lease.lease_id,
                reason=exc.message,
            )
            return
        self._count("revoke", "ok")
        self._emit("vault_lease_revoked", path=lease.path, lease_id=lease.lease_id)

    def _forget(self, lease: Lease) -> None:
        if self._by_username.pop(lease.credential.username, None) is not None:
            self._gauge(lease.path, -1)
        if self._current.get(lease.key) is lease:
            del self._current[lease.key]

    async def close(self) -> None:
        """Revoke every lease (gateway shutdown)."""
        for task in list(self._pending.values()):
            task.cancel()
        leases = self.leases
        await asyncio.gather(*(self._finish(lease, revoke=True) for lease in leases))

    # -- evidence --------------------------------------------------------------

    def _count(self, operation: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.vault_lease_operations.labels(operation, outcome).inc()

    def _gauge(self, path: str, delta: int) -> None:
        if self._metrics is not None:
            self._metrics.vault_leases_active.labels(path).inc(delta)

    def _emit(self, event: str, level: str = "info", **fields: object) -> None:
        if self._log is not None:
            self._log.emit(event, level=level, **fields)
