"""Per-session upstream credentials leased from Vault, chosen by the caller's groups.

`roles_by_group` is read in order; the first group the identity belongs to picks
the secret path, otherwise `path` (the default) applies. An identity with no
matching group and no default gets no credential: the session is refused before
anything upstream is opened. Leases are shared per (identity, path) by the pool.
"""

from __future__ import annotations

from wardgate.config.model import VaultCredentials
from wardgate.seam import AccessDenied, Identity, UpstreamCredential, UpstreamUnavailable
from wardgate.vault.errors import VaultError
from wardgate.vault.leases import LeasePool


def owner_key(identity: Identity) -> str:
    """Leases are never shared across identities, nor across identity sources."""
    return f"{identity.method}:{identity.issuer}:{identity.name}"


def secret_path(spec: VaultCredentials, identity: Identity) -> str | None:
    for group, path in spec.roles_by_group.items():
        if group in identity.groups:
            return path
    return spec.path


class VaultCredentialProvider:
    def __init__(self, spec: VaultCredentials, pool: LeasePool) -> None:
        self._spec = spec
        self._pool = pool

    async def lease(self, identity: Identity) -> UpstreamCredential:
        path = secret_path(self._spec, identity)
        if path is None:
            raise AccessDenied("no upstream role is configured for your groups on this resource")
        try:
            return await self._pool.acquire(owner_key(identity), path)
        except VaultError as exc:
            raise UpstreamUnavailable(f"upstream credentials unavailable: {exc.message}") from None

    async def release(self, credential: UpstreamCredential) -> None:
        await self._pool.release(credential)
