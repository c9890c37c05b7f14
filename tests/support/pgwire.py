"""A deliberately tiny, blocking PostgreSQL v3 client for protocol-level tests.

Real drivers never send a FunctionCall, a forged CancelRequest or a message
header that lies about its length; tests that need to do so use `RawPg`. It
speaks only what such tests need: start-up, cleartext password, simple query,
arbitrary frames, and reading backend messages one at a time.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


@dataclass(frozen=True)
class Message:
    type: bytes
    payload: bytes

    @property
    def fields(self) -> dict[str, str]:
        """ErrorResponse / NoticeResponse fields by their one-letter code (S, C, M …)."""
        out: dict[str, str] = {}
        for part in self.payload.split(b"\0"):
            if part:
                out[chr(part[0])] = part[1:].decode(errors="replace")
        return out

    @property
    def sqlstate(self) -> str:
        return self.fields.get("C", "")


class ConnectionClosed(Exception):
    """The server closed the connection."""


class RawPg:
    """One raw connection; every read has a timeout so a silent gateway fails fast."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.backend_key: tuple[int, int] | None = None
        self._buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawPg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, msg_type: bytes, payload: bytes = b"") -> None:
        self.send_raw(msg_type + struct.pack("!I", len(payload) + 4) + payload)

    def send_startup(self, params: dict[str, str]) -> None:
        body = struct.pack("!I", PROTOCOL_3)
        for key, value in params.items():
            body += key.encode() + b"\0" + value.encode() + b"\0"
        body += b"\0"
        self.send_raw(struct.pack("!I", len(body) + 4) + body)

    def query(self, sql: str) -> list[Message]:
        self.send(b"Q", sql.encode() + b"\0")
        return self.read_until(b"Z")

    # -- receiving ------------------------------------------------------------------

    def _recv_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed(f"closed after {len(self._buffer)} of {size} bytes")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def read_byte(self) -> bytes:
        return self._recv_exact(1)

    def read_message(self) -> Message:
        header = self._recv_exact(5)
        (length,) = struct.unpack("!I", header[1:])
        return Message(header[:1], self._recv_exact(length - 4))

    def read_until(self, *types: bytes) -> list[Message]:
        """Read messages up to and including the first whose type is in `types` (or 'E')."""
        messages = []
        while True:
            message = self.read_message()
            messages.append(message)
            if message.type in types:
                return messages

    def login(
        self,
        token: str,
        user: str = "agent",
        database: str | None = None,
        **params: str,
    ) -> list[Message]:
        """Start up and answer a cleartext password request; read up to ReadyForQuery or error."""
        params = {"user": user, **params}
        if database:
            params["database"] = database
        self.send_startup(params)
        messages = []
        while True:
            message = self.read_message()
            messages.append(message)
            if message.type == b"R" and struct.unpack("!I", message.payload[:4])[0] == 3:
                self.send(b"p", token.encode() + b"\0")
            elif message.type == b"K":
                self.backend_key = struct.unpack("!II", message.payload)
            elif message.type in (b"Z", b"E"):
                return messages


def error_of(messages: list[Message]) -> Message | None:
    return next((m for m in messages if m.type == b"E"), None)


def send_cancel(host: str, port: int, pid: int, key: int) -> None:
    """Send a CancelRequest and wait for the server to close the connection."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST, pid, key))
        try:
            while sock.recv(1024):
                pass
        except OSError:
            pass


def request_code(host: str, port: int, code: int) -> bytes:
    """Send an 8-byte SSLRequest/GSSENCRequest and return the one-byte answer."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(struct.pack("!II", 8, code))
        return sock.recv(1)
