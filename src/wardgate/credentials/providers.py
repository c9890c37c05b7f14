"""One credential provider per resource, and the Vault machinery they share.

The Vault client (and its thread pool) exists only when the `vault` section is
configured; each Vault-backed resource gets its own `LeasePool`, so leases never
cross resource boundaries and `credentials.vault.idle_reuse` can differ per resource.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from wardgate.config.model import ResourceConfig, VaultConfig
from wardgate.credentials.header import HeaderCredentialProvider, header_resolvers
from wardgate.credentials.static import StaticCredentialProvider
from wardgate.credentials.vault import VaultCredentialProvider
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.seam import Identity, UpstreamCredential
from wardgate.vault.client import SyncVault, VaultClient
from wardgate.vault.leases import LeasePool


class Provider(Protocol):
    async def lease(self, identity: Identity) -> UpstreamCredential: ...

    async def release(self, credential: UpstreamCredential) -> None: ...


class CredentialServices:
    def __init__(
        self,
        vault: VaultConfig | None,
        base_dir: Path,
        *,
        metrics: Metrics | None = None,
        log: EventLog | None = None,
        client: VaultClient | None = None,
    ) -> None:
        self._vault = vault
        self._base_dir = base_dir
        self._metrics = metrics
        self._log = log
        self._client = client
        self._pools: list[LeasePool] = []

    def _vault_client(self) -> tuple[VaultConfig, VaultClient]:
        assert self._vault is not None  # validated: vault credentials need the section
        if self._client is None:
            sync = SyncVault(self._vault, self._base_dir)
            self._client = VaultClient(sync, metrics=self._metrics)
        return self._vault, self._client

    def provider(self, resource: ResourceConfig) -> Provider:
        credentials = resource.credentials
        if credentials.header is not None:
            resolvers = header_resolvers(self._vault, self._base_dir)
            return HeaderCredentialProvider(credentials.header, resolvers)
        spec = credentials.vault
        if spec is None:
            assert credentials.static is not None  # validated: exactly one source
            return StaticCredentialProvider(credentials.static, self._base_dir)
        config, client = self._vault_client()
        idle = config.idle_reuse if spec.idle_reuse is None else spec.idle_reuse
        pool = LeasePool(
            client,
            idle_reuse=idle,
            renew_fraction=config.renew_fraction,
            metrics=self._metrics,
            log=self._log,
        )
        self._pools.append(pool)
        return VaultCredentialProvider(spec, pool)

    async def close(self) -> None:
        """Revoke every lease still held, then stop the Vault thread pool."""
        await asyncio.gather(*(pool.close() for pool in self._pools))
        if self._client is not None:
            self._client.close()
