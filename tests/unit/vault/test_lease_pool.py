"""`LeasePool` against a fake Vault: single flight, reuse, renewal, revocation, failures."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from wardgate.config.model import VaultCredentials
from wardgate.credentials.vault import VaultCredentialProvider, owner_key, secret_path
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.seam import AccessDenied, Identity, UpstreamUnavailable
from wardgate.vault.client import SecretResponse
from wardgate.vault.errors import VaultError
from wardgate.vault.leases import LeasePool

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class FakeVault:
    ttl: int = 60
    delay: float = 0.0
    fail: VaultError | None = None
    grant: int | None = None
    reads: list[str] = field(default_factory=list)
    renewals: list[tuple[str, int]] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    async def read(self, path: str) -> SecretResponse:
        self.reads.append(path)
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        n = len(self.reads)
        data = {"username": f"v-{n}", "password": f"secret-{n}"}
        return SecretResponse(f"{path}/lease-{n}", self.ttl, True, data)

    async def renew(self, lease_id: str, increment: int) -> int:
        self.renewals.append((lease_id, increment))
        if self.fail is not None:
            raise self.fail
        return self.grant if self.grant is not None else increment

    async def revoke(self, lease_id: str) -> None:
        self.revoked.append(lease_id)


def pool(vault: FakeVault, **kw: Any) -> tuple[LeasePool, io.StringIO, Metrics]:
    stream, metrics = io.StringIO(), Metrics()
    kw.setdefault("idle_reuse", 30.0)
    return LeasePool(vault, metrics=metrics, log=EventLog(stream), **kw), stream, metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_storm_of_acquires_reads_once_and_shares_the_lease() -> None:
    vault = FakeVault(delay=0.01)
    leases, _, metrics = pool(vault)

    async def scenario() -> None:
        creds = await asyncio.gather(*(leases.acquire("alice", "db/creds/ro") for _ in range(20)))
        assert {c.username for c in creds} == {"v-1"}
        assert vault.reads == ["db/creds/ro"]
        again = await leases.acquire("alice", "db/creds/ro")
        assert again.username == "v-1"
        other = await leases.acquire("bob", "db/creds/ro")
        assert other.username == "v-2"
        assert (
            sample(
                metrics, "wardgate_vault_lease_operations_total", operation="lease", outcome="ok"
            )
            == 2
        )
        assert (
            sample(
                metrics, "wardgate_vault_lease_operations_total", operation="reuse", outcome="ok"
            )
            == 1
        )
        assert sample(metrics, "wardgate_vault_leases_active", path="db/creds/ro") == 2
        await leases.close()
        assert sorted(vault.revoked) == ["db/creds/ro/lease-1", "db/creds/ro/lease-2"]

    run(scenario())


def test_release_with_no_reuse_window_revokes_at_once() -> None:
    vault = FakeVault()
    leases, stream, metrics = pool(vault, idle_reuse=0)

    async def scenario() -> None:
        first = await leases.acquire("alice", "p")
        second = await leases.acquire("alice", "p")
        await leases.release(first)
        assert vault.revoked == []  # still in use by the second session
        await leases.release(second)
        assert vault.revoked == ["p/lease-1"]
        assert leases.leases == ()
        assert (await leases.acquire("alice", "p")).username == "v-2"
        await leases.close()

    run(scenario())
    assert "secret-1" not in stream.getvalue()
    assert sample(metrics, "wardgate_vault_leases_active", path="p") == 0


def test_idle_leases_are_revoked_after_the_window() -> None:
    vault = FakeVault()
    leases, _, _ = pool(vault, idle_reuse=0.05)

    async def scenario() -> None:
        credential = await leases.acquire("alice", "p")
        await leases.release(credential)
        await asyncio.sleep(0.01)
        assert vault.revoked == []
        await asyncio.sleep(0.1)
        assert vault.revoked == ["p/lease-1"]

    run(scenario())


def test_leases_are_renewed_while_in_use_and_capped_ones_are_replaced() -> None:
    vault = FakeVault(ttl=1)
    leases, stream, _ = pool(vault, renew_fraction=0.2)

    async def scenario() -> None:
        await leases.acquire("alice", "p")
        await asyncio.sleep(0.5)
        assert len(vault.renewals) >= 2
        assert vault.renewals[0] == ("p/lease-1", 1)
        vault.grant = 0  # max_ttl reached: Vault grants less than asked
        await asyncio.sleep(0.3)
        assert (await leases.acquire("alice", "p")).username == "v-2"
        await leases.close()

    run(scenario())
    assert '"capped": true' in stream.getvalue()


def test_vault_failures_propagate_and_are_counted() -> None:
    vault = FakeVault(fail=VaultError("nothing at p (role or secret missing)", "not_found"))
    leases, stream, metrics = pool(vault)
    with pytest.raises(VaultError):
        run(leases.acquire("alice", "p"))
    assert (
        sample(metrics, "wardgate_vault_lease_operations_total", operation="lease", outcome="error")
        == 1
    )
    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["event"] == "vault_lease_failed"


def test_a_cancelled_acquire_still_revokes_the_lease_later() -> None:
    vault = FakeVault(delay=0.05)
    leases, _, _ = pool(vault, idle_reuse=0.01)

    async def scenario() -> None:
        task = asyncio.ensure_future(leases.acquire("alice", "p"))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.sleep(0.2)
        assert vault.revoked == ["p/lease-1"]

    run(scenario())


def test_provider_chooses_the_path_by_group_and_maps_errors() -> None:
    spec = VaultCredentials(path="db/creds/ro", roles_by_group={"dba": "db/creds/rw"})
    dba = Identity("dana", frozenset({"dba", "agents"}), "oidc", "https://idp")
    agent = Identity("al", frozenset({"agents"}))
    assert secret_path(spec, dba) == "db/creds/rw"
    assert secret_path(spec, agent) == "db/creds/ro"
    assert owner_key(dba) == "oidc:https://idp:dana"
    only_dba = VaultCredentials(roles_by_group={"dba": "db/creds/rw"})
    vault = FakeVault()
    provider = VaultCredentialProvider(only_dba, pool(vault)[0])
    with pytest.raises(AccessDenied):
        run(provider.lease(agent))
    vault.fail = VaultError("Vault is unreachable", "unreachable")
    with pytest.raises(
        UpstreamUnavailable, match="upstream credentials unavailable: Vault is unreachable"
    ):
        run(provider.lease(dba))
