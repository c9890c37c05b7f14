"""One client connection from accept to close.

start-up (handshake) → token → gate.authenticate → gate.open_session (lease) →
upstream connect → AuthenticationOk + the upstream's ParameterStatus + a
wardgate-issued BackendKeyData + ReadyForQuery → relay. Every refusal on the way
is a FATAL ErrorResponse with a specific SQLSTATE, counted by the gate; a bad
token never causes an upstream connection.
"""

from __future__ import annotations

import asyncio
import contextlib

from wardgate.seam import (
    AccessDenied,
    AuthenticationFailed,
    ClientInfo,
    Direction,
    GateError,
    Identity,
    ListenerContext,
    PresentedCredential,
    Session,
    UpstreamUnavailable,
)
from wardgate_postgres import sqlstate
from wardgate_postgres.cancel import CancelRegistry, CancelTarget
from wardgate_postgres.codec import (
    AuthenticationOk,
    BackendKeyData,
    CancelRequest,
    ParameterStatus,
    ProtocolViolation,
    ReadyForQuery,
)
from wardgate_postgres.frames import fatal
from wardgate_postgres.handshake import ClientStartup, HandshakeRefused, client_handshake
from wardgate_postgres.relay import Relay
from wardgate_postgres.settings import PostgresUpstream
from wardgate_postgres.upstream import (
    UpstreamConnection,
    UpstreamError,
    connect_upstream,
    send_cancel,
)

_GATE_ERRORS: dict[type[GateError], str] = {
    AuthenticationFailed: sqlstate.INVALID_PASSWORD,
    AccessDenied: sqlstate.INSUFFICIENT_PRIVILEGE,
    UpstreamUnavailable: sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
}


class ClientConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        context: ListenerContext,
        cancels: CancelRegistry,
        relays: set[Relay],
    ) -> None:
        self._reader, self._writer = reader, writer
        self._context = context
        self._settings: PostgresUpstream = context.upstream
        self._cancels = cancels
        self._relays = relays
        peer = writer.get_extra_info("peername")
        address, port = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        self._client = ClientInfo(address=address, port=port)

    async def serve(self) -> None:
        try:
            await self._serve()
        except HandshakeRefused as exc:
            self._context.gate.refuse(self._client, exc.reason, exc.category)
            await self._send_and_close(exc.frame)
        except ProtocolViolation as exc:
            self._context.gate.refuse(self._client, f"invalid start-up: {exc}")
            await self._send_and_close(fatal(exc.sqlstate, f"invalid start-up message: {exc}"))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except TimeoutError:
            self._context.gate.refuse(self._client, "start-up timed out")
            await self._send_and_close(fatal(sqlstate.PROTOCOL_VIOLATION, "start-up timed out"))

    async def _send_and_close(self, frame: bytes) -> None:
        with contextlib.suppress(Exception):
            if frame and not self._writer.is_closing():
                self._writer.write(frame)
                await self._writer.drain()

    async def _serve(self) -> None:
        async with asyncio.timeout(self._context.limits.handshake_timeout):
            startup = await client_handshake(
                self._reader, self._writer, self._context, self._client.address
            )
        if isinstance(startup, CancelRequest):
            await self._cancel(startup)
            return
        self._client = ClientInfo(
            address=self._client.address,
            port=self._client.port,
            user=startup.vetted.user,
            database=startup.vetted.database,
            application=startup.vetted.application_name,
            tls=startup.tls,
        )
        session = await self._open_session(startup)
        if session is None:
            return
        try:
            await self._run_session(session, startup)
        finally:
            await session.close(getattr(self, "_end_reason", ""))

    async def _open_session(self, startup: ClientStartup) -> Session | None:
        gate = self._context.gate
        try:
            identity: Identity = await gate.authenticate(
                PresentedCredential(secret=startup.token, user=startup.vetted.user), self._client
            )
            return await gate.open_session(identity, self._client, self._database(startup))
        except GateError as exc:
            code = next(
                (c for t, c in _GATE_ERRORS.items() if isinstance(exc, t)),
                sqlstate.INSUFFICIENT_PRIVILEGE,
            )
            if isinstance(exc, AccessDenied) and "database" in exc.message:
                code = sqlstate.INVALID_CATALOG_NAME
            prefix = "authentication failed: " if isinstance(exc, AuthenticationFailed) else ""
            await self._send_and_close(fatal(code, f"wardgate: {prefix}{exc.message}"))
            return None

    def _database(self, startup: ClientStartup) -> str:
        """The database asked for; libpq's default (the user name) means "the default"."""
        requested = startup.vetted.database
        if not requested:
            return self._settings.database
        if requested == startup.vetted.user and not self._context.gate.allows_database(requested):
            return self._settings.database
        return requested

    async def _run_session(self, session: Session, startup: ClientStartup) -> None:
        database = self._database(startup)
        try:
            upstream = await connect_upstream(
                self._settings,
                session.credential,
                database,
                startup.vetted.forwarded,
                self._context.limits.connect_timeout,
            )
        except UpstreamError as exc:
            session.event("upstream_failed", level="error", reason=exc.message, detail=exc.detail)
            await self._send_and_close(
                fatal(exc.sqlstate, f"wardgate: {exc.message}", detail=exc.detail or None)
            )
            self._end_reason = f"upstream: {exc.message}"
            return
        try:
            await self._relay(session, upstream, database)
        finally:
            upstream.close()

    def _greeting(self, upstream: UpstreamConnection, key: tuple[int, int]) -> bytes:
        parts = [AuthenticationOk().raw]
        parts += [ParameterStatus(k, v).raw for k, v in upstream.parameters.items()]
        parts.append(BackendKeyData(*key).raw)
        parts.append(ReadyForQuery(upstream.status).raw)
        return b"".join(parts)

    async def _relay(self, session: Session, upstream: UpstreamConnection, database: str) -> None:
        target = CancelTarget(
            upstream.process_id,
            upstream.secret_key,
            self._settings.host,
            self._settings.port,
        )
        key = self._cancels.issue(target)
        relay = Relay(
            self._reader,
            self._writer,
            upstream.reader,
            upstream.writer,
            session,
            database,
            self._context.limits.max_message_bytes,
            status=upstream.status,
            parameters=upstream.parameters,
        )
        self._relays.add(relay)
        try:
            greeting = self._greeting(upstream, key)
            self._writer.write(greeting)
            session.record(Direction.SERVER_TO_CLIENT, greeting)
            await self._writer.drain()
            self._end_reason = await relay.run()
        finally:
            self._relays.discard(relay)
            self._cancels.forget(key[0])
            if relay.cut:  # don't leave the upstream backend working for nobody
                await asyncio.shield(self._cancel_upstream(upstream))

    async def _cancel_upstream(self, upstream: UpstreamConnection) -> None:
        with contextlib.suppress(UpstreamError, OSError, TimeoutError):
            await send_cancel(
                self._settings, upstream.process_id, upstream.secret_key, connect_timeout=2.0
            )

    async def _cancel(self, request: CancelRequest) -> None:
        target = self._cancels.lookup(request.process_id, request.secret_key)
        if target is None:
            self._context.gate.refuse(self._client, "cancel request with an unknown key", "cancel")
            return
        with contextlib.suppress(UpstreamError, OSError, TimeoutError):
            await send_cancel(
                self._settings,
                target.process_id,
                target.secret_key,
                self._context.limits.connect_timeout,
            )
