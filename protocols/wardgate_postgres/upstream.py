"""Opening the upstream connection: transport, TLS, start-up and authentication.

"Start-up" (protocol 3.0, "Message Flow"): the gateway, acting as a client, asks
for TLS per the resource's mode (libpq semantics: `prefer` and `require` encrypt
without verifying, `verify-full` checks the chain and the host name), sends its
own StartupMessage with the leased credential's user, answers the server's
authentication request (trust, cleartext, MD5 or SCRAM-SHA-256), and collects
ParameterStatus and BackendKeyData up to the first ReadyForQuery.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from wardgate.seam import UpstreamCredential
from wardgate_postgres import sqlstate
from wardgate_postgres.auth.errors import AuthFailed
from wardgate_postgres.auth.md5 import md5_password
from wardgate_postgres.auth.scram import ScramExchange, finish_scram, scram_client
from wardgate_postgres.codec import (
    SSL_REQUEST_BYTES,
    AuthenticationCleartextPassword,
    AuthenticationMD5Password,
    AuthenticationOk,
    AuthenticationSASL,
    AuthenticationSASLContinue,
    AuthenticationSASLFinal,
    BackendKeyData,
    BackendMessage,
    ErrorResponse,
    FrameSplitter,
    NoticeResponse,
    ParameterStatus,
    PasswordMessage,
    ProtocolViolation,
    ReadyForQuery,
    decode_backend,
    encode_cancel,
    encode_startup,
)
from wardgate_postgres.settings import PostgresUpstream

SCRAM = "SCRAM-SHA-256"


class UpstreamError(Exception):
    """The upstream could not be reached or refused us; carries what to tell the client."""

    def __init__(self, sqlstate_code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate_code
        self.message = message
        self.detail = detail


@dataclass(slots=True)
class UpstreamConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parameters: dict[str, str] = field(default_factory=dict)
    process_id: int = 0
    secret_key: int = 0
    status: str = "I"
    tls: bool = False
    leftover: bytes = b""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


def client_tls_context(settings: PostgresUpstream) -> ssl.SSLContext:
    if settings.tls == "verify-full":
        context = ssl.create_default_context(cafile=settings.ca_file)
        context.check_hostname = True
        return context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _open(
    settings: PostgresUpstream,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if settings.is_unix:
            return await asyncio.open_unix_connection(settings.socket_path, limit=256 * 1024)
        return await asyncio.open_connection(settings.host, settings.port, limit=256 * 1024)
    except OSError as exc:
        raise UpstreamError(
            sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            "cannot reach the upstream server",
            exc.strerror or str(exc),
        ) from None


async def _negotiate_tls(
    settings: PostgresUpstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> bool:
    if settings.is_unix or settings.tls == "disable":
        return False
    writer.write(SSL_REQUEST_BYTES)
    await writer.drain()
    answer = await reader.readexactly(1)
    if answer == b"S":
        if reader._buffer:  # type: ignore[attr-defined]  # bytes before the handshake: injected
            raise UpstreamError(sqlstate.PROTOCOL_VIOLATION, "upstream sent data before TLS")
        hostname = settings.server_name or settings.host
        try:
            await writer.start_tls(client_tls_context(settings), server_hostname=hostname)
        except (ssl.SSLError, OSError) as exc:
            raise UpstreamError(
                sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                "TLS handshake with the upstream failed",
                str(exc),
            ) from None
        return True
    if answer == b"N" and settings.tls == "prefer":
        return False
    raise UpstreamError(
        sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
        f"the upstream does not offer TLS but the resource requires it (tls: {settings.tls})",
    )


class _BackendReader:
    """Reads and decodes backend messages during start-up."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._splitter = FrameSplitter(1024 * 1024)
        self._queue: list[BackendMessage] = []

    async def next(self) -> BackendMessage:
        while not self._queue:
            data = await self._reader.read(65536)
            if not data:
                raise UpstreamError(
                    sqlstate.CONNECTION_FAILURE,
                    "the upstream closed the connection during start-up",
                )
            self._queue.extend(decode_backend(frame) for frame in self._splitter.feed(data))
        return self._queue.pop(0)

    def leftover(self) -> bytes:
        return b"".join(message.raw for message in self._queue)


def _auth_error(message: ErrorResponse) -> UpstreamError:
    return UpstreamError(
        sqlstate.SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
        "the upstream rejected wardgate's connection",
        f"{message.sqlstate}: {message.message}",
    )


async def _authenticate(
    backend: _BackendReader, writer: asyncio.StreamWriter, credential: UpstreamCredential
) -> None:
    scram: ScramExchange | None = None
    while True:
        message = await backend.next()
        if isinstance(message, AuthenticationOk):
            return
        if isinstance(message, ErrorResponse):
            raise _auth_error(message)
        if isinstance(message, AuthenticationCleartextPassword):
            reply = PasswordMessage.password(credential.password)
        elif isinstance(message, AuthenticationMD5Password):
            hashed = md5_password(credential.username, credential.password, message.salt)
            reply = PasswordMessage.password(hashed)
        elif isinstance(message, AuthenticationSASL) and SCRAM in message.mechanisms:
            scram = scram_client(credential.password)
            reply = PasswordMessage.sasl_initial(SCRAM, next(scram))
        elif isinstance(message, AuthenticationSASLContinue) and scram is not None:
            reply = PasswordMessage.sasl_response(scram.send(message.data))
        elif isinstance(message, AuthenticationSASLFinal) and scram is not None:
            finish_scram(scram, message.data)
            continue
        else:
            raise UpstreamError(
                sqlstate.FEATURE_NOT_SUPPORTED,
                f"the upstream asked for an authentication method wardgate does not speak "
                f"({type(message).__name__})",
            )
        writer.write(reply.raw)
        await writer.drain()


async def _collect_startup(backend: _BackendReader, connection: UpstreamConnection) -> None:
    while True:
        message = await backend.next()
        if isinstance(message, ParameterStatus):
            connection.parameters[message.name] = message.value
        elif isinstance(message, BackendKeyData):
            connection.process_id, connection.secret_key = message.process_id, message.secret_key
        elif isinstance(message, ReadyForQuery):
            connection.status = message.status
            connection.leftover = backend.leftover()
            return
        elif isinstance(message, ErrorResponse):
            raise UpstreamError(message.sqlstate, message.message, message.detail or "")
        elif not isinstance(message, NoticeResponse):
            raise UpstreamError(
                sqlstate.PROTOCOL_VIOLATION,
                f"unexpected {type(message).__name__} from the upstream during start-up",
            )


async def connect_upstream(
    settings: PostgresUpstream,
    credential: UpstreamCredential,
    database: str,
    parameters: Mapping[str, str],
    connect_timeout: float,
) -> UpstreamConnection:
    """Open an authenticated upstream connection, ready for queries."""
    reader, writer = await asyncio.wait_for(_open(settings), connect_timeout)
    try:
        async with asyncio.timeout(connect_timeout):
            tls = await _negotiate_tls(settings, reader, writer)
            startup = {**parameters, "user": credential.username, "database": database}
            writer.write(encode_startup(startup))
            await writer.drain()
            backend = _BackendReader(reader)
            await _authenticate(backend, writer, credential)
            connection = UpstreamConnection(reader, writer, tls=tls)
            await _collect_startup(backend, connection)
            return connection
    except TimeoutError:
        writer.close()
        raise UpstreamError(
            sqlstate.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            "the upstream did not complete start-up in time",
        ) from None
    except AuthFailed as exc:
        writer.close()
        raise UpstreamError(
            sqlstate.SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
            "upstream authentication failed",
            str(exc),
        ) from None
    except (ProtocolViolation, asyncio.IncompleteReadError, ConnectionError) as exc:
        writer.close()
        raise UpstreamError(
            sqlstate.CONNECTION_FAILURE, "the upstream connection failed during start-up", str(exc)
        ) from None
    except BaseException:
        writer.close()
        raise


async def send_cancel(
    settings: PostgresUpstream, process_id: int, secret_key: int, connect_timeout: float
) -> None:
    """Deliver a CancelRequest for a real upstream backend (no TLS needed: no secrets)."""
    reader, writer = await asyncio.wait_for(_open(settings), connect_timeout)
    try:
        writer.write(encode_cancel(process_id, secret_key))
        await writer.drain()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(1), connect_timeout)
    finally:
        writer.close()
