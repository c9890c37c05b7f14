"""Header credentials for HTTP resources: `credentials.header: {name, value}`.

The value's `${env:…}`, `${file:…}` and `${vault:PATH#KEY}` references were checked
when the configuration loaded but kept as written (`config.interpolation.deferred`);
they are resolved again at each session open, so a rotated secret is used from
the next session on. env and file are read every time (cheap); a Vault KV read
is reused for `refresh` seconds and runs off the event loop. A reference that no
longer resolves refuses the session (fail closed) without naming the secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from wardgate.config.interpolation import Resolver, default_resolvers, interpolate_string
from wardgate.config.model import HeaderCredentials, VaultConfig
from wardgate.seam import Identity, UpstreamCredential, UpstreamUnavailable

Clock = Callable[[], float]


def header_resolvers(vault: VaultConfig | None, base_dir: Path) -> dict[str, Resolver]:
    """env and file as at load time; vault through one logged-in client, no read cache."""
    resolvers = default_resolvers(base_dir)
    if vault is not None:
        from wardgate.vault.client import SyncVault
        from wardgate.vault.kv import KvResolver

        client = SyncVault(vault, base_dir)
        resolvers["vault"] = lambda reference: KvResolver(client)(reference)
    return resolvers


class HeaderCredentialProvider:
    def __init__(
        self,
        spec: HeaderCredentials,
        resolvers: Mapping[str, Resolver],
        clock: Clock = time.monotonic,
    ) -> None:
        self._spec = spec
        self._resolvers = resolvers
        self._clock = clock
        self._remote = "${vault:" in spec.value
        self._cached: tuple[float, str] | None = None
        self._lock = asyncio.Lock()

    async def lease(self, identity: Identity | None = None) -> UpstreamCredential:
        return UpstreamCredential(headers={self._spec.name: await self._value()})

    async def release(self, credential: UpstreamCredential) -> None:
        """Nothing to revoke: the secret outlives sessions."""

    async def _value(self) -> str:
        if not self._remote:
            return self._resolve()
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._spec.refresh:
                return self._cached[1]
            value = await asyncio.to_thread(self._resolve)
            self._cached = (now, value)
            return value

    def _resolve(self) -> str:
        try:
            return interpolate_string(self._spec.value, self._resolvers)
        except Exception:
            raise UpstreamUnavailable(
                f"the {self._spec.name} credential for the upstream cannot be resolved"
            ) from None
