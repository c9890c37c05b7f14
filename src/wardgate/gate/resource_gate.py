"""`ResourceGate`: the `Gate` a plugin gets for one configured resource.

It authenticates presented credentials, authorizes the identity for the resource,
leases the upstream credential and opens a `GatewaySession`. Every refusal is
counted and logged before the plugin renders it on its wire.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from wardgate.eventlog import EventLog
from wardgate.gate.access import AccessRule
from wardgate.gate.session import GatewaySession, SessionServices
from wardgate.identity.authenticator import Authenticator
from wardgate.seam import (
    AccessDenied,
    AuthenticationFailed,
    ClientInfo,
    GateError,
    Identity,
    PresentedCredential,
    UpstreamCredential,
)


class CredentialProvider(Protocol):
    async def lease(self, identity: Identity) -> UpstreamCredential:
        """The upstream credential for this identity (a Vault lease may be per identity)."""
        ...

    async def release(self, credential: UpstreamCredential) -> None: ...


class ResourceGate:
    def __init__(
        self,
        services: SessionServices,
        authenticator: Authenticator,
        credentials: CredentialProvider,
        databases: tuple[str, ...] | None,
        default_database: str,
        access: AccessRule | None = None,
    ) -> None:
        self._access = access
        self._services = services
        self._authenticator = authenticator
        self._credentials = credentials
        self._databases = databases
        self._default_database = default_database

    @property
    def resource(self) -> str:
        return self._services.resource

    @property
    def log(self) -> EventLog:
        return self._services.log

    def allows_database(self, database: str) -> bool:
        if self._databases is None:
            return database in ("", self._default_database)
        return "*" in self._databases or database in self._databases

    async def authenticate(self, credential: PresentedCredential, client: ClientInfo) -> Identity:
        try:
            return await self._authenticator.authenticate(credential)
        except AuthenticationFailed as exc:
            self._services.metric_auth_failure(getattr(exc, "code", "invalid_token"))
            self._services.log.emit(
                "auth_failed",
                level="warning",
                resource=self.resource,
                client=f"{client.address}:{client.port}",
                user=client.user,
                reason=exc.message,
            )
            self._services.evidence.auth_failed(
                self.resource, self._services.protocol, client, exc.message
            )
            raise

    async def open_session(
        self, identity: Identity, client: ClientInfo, database: str
    ) -> GatewaySession:
        if database and not self.allows_database(database):
            self.refuse(client, f"database {database!r} is not offered", "authorization")
            raise AccessDenied(f'database "{database}" is not available on this resource')
        if self._access is not None and not self._access.admits(identity):
            self.refuse(client, f"identity {identity.name!r} may not open it", "authorization")
            raise AccessDenied(f'identity "{identity.name}" may not use resource "{self.resource}"')
        try:
            credential = await self._credentials.lease(identity)
        except AccessDenied as exc:
            self.refuse(client, exc.message, "authorization")
            raise
        except GateError as exc:
            self._services.metrics.upstream_errors.labels(*self._services.labels).inc()
            self.refuse(client, exc.message, "upstream")
            raise
        session = GatewaySession(
            services=self._services,
            session_id=secrets.token_hex(8),
            identity=identity,
            client=client,
            database=database or self._default_database,
            credential=credential,
            release=self._credentials.release,
        )
        session.opened()
        return session

    def refuse(self, client: ClientInfo, reason: str, category: str = "protocol") -> None:
        self._services.metrics.refusals.labels(*self._services.labels, category).inc()
        self._services.log.emit(
            "refused",
            level="warning",
            resource=self.resource,
            client=f"{client.address}:{client.port}",
            category=category,
            reason=reason,
        )
