"""`GET /api/resources`: where each resource listens, for `wardgate env/connect --server`.

Bearer-token authenticated like the rest of the admin API; an identity sees only
the resources its `access` admits. Nothing secret is listed: addresses, protocol,
default database and whether the listener requires TLS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException

from wardgate.gate.access import AccessRule
from wardgate.identity.authenticator import Authenticator
from wardgate.seam import AuthenticationFailed, Identity, PresentedCredential


@dataclass(frozen=True, slots=True)
class ResourceEntry:
    name: str
    protocol: str
    address: str  # host:port as bound
    database: str
    tls: bool
    tls_required: bool
    access: AccessRule | None = None

    def admits(self, identity: Identity) -> bool:
        return self.access is None or self.access.admits(identity)

    def public(self) -> dict[str, Any]:
        host, _, port = self.address.rpartition(":")
        return {
            "name": self.name,
            "protocol": self.protocol,
            "host": host.strip("[]"),
            "port": int(port),
            "database": self.database,
            "tls": self.tls,
            "tls_required": self.tls_required,
        }


async def bearer_identity(authenticator: Authenticator, authorization: str | None) -> Identity:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "bearer token required", {"WWW-Authenticate": "Bearer"})
    try:
        return await authenticator.authenticate(PresentedCredential(secret=token.strip()))
    except AuthenticationFailed as exc:
        raise HTTPException(401, exc.message, {"WWW-Authenticate": "Bearer"}) from None


def resources_router(
    authenticator: Authenticator, catalog: Callable[[], Sequence[ResourceEntry]]
) -> APIRouter:
    router = APIRouter()

    @router.get("/api/resources")
    async def list_resources(
        authorization: Annotated[str | None, Header()] = None,
    ) -> list[dict[str, Any]]:
        identity = await bearer_identity(authenticator, authorization)
        return [entry.public() for entry in catalog() if entry.admits(identity)]

    return router
