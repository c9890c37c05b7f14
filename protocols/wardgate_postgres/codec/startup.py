"""The untyped first messages: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest.

"Message Formats" (protocol 3.0): each is an Int32 length (counting itself) and an
Int32 code, then a payload. The code is the protocol version 196608 (3.0, i.e.
major 3 << 16 | minor 0) for StartupMessage, or one of the magic request codes
80877103 (SSL), 80877104 (GSSENC), 80877102 (cancel). A StartupMessage with major 3
and another minor is still decoded (``protocol`` says which) so the caller can reply
with NegotiateProtocolVersion; any other major is a `ProtocolViolation`, as is a
duplicate or non-UTF-8 parameter. The parameters are an immutable, ordered
`Parameters` mapping (hashable, so messages stay frozen values).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .errors import ProtocolViolation
from .wire import INT32, Reader, cstr

PROTOCOL_3_0 = 196608  # 3 << 16
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102

SSL_REQUEST_BYTES = struct.pack("!ii", 8, SSL_REQUEST_CODE)
GSSENC_REQUEST_BYTES = struct.pack("!ii", 8, GSSENC_REQUEST_CODE)

_PAIR = struct.Struct("!ii")


class Parameters(Mapping[str, str]):
    """An ordered, immutable, hashable ``str -> str`` mapping."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Mapping[str, str] | tuple[tuple[str, str], ...] = ()) -> None:
        pairs = tuple(items.items()) if isinstance(items, Mapping) else tuple(items)
        self._items = pairs
        self._map = dict(pairs)
        if len(self._map) != len(pairs):
            raise ValueError("duplicate parameter name")

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Parameters):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._map) == dict(other)

    def __repr__(self) -> str:
        return f"Parameters({self._map!r})"


@dataclass(frozen=True, slots=True)
class StartupMessage:
    """Protocol version and the name/value parameters (user, database, options …)."""

    protocol: int
    parameters: Parameters
    raw: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.parameters, Parameters):
            object.__setattr__(self, "parameters", Parameters(self.parameters))
        if not self.raw:
            object.__setattr__(self, "raw", self.encode())

    @property
    def major(self) -> int:
        return self.protocol >> 16

    @property
    def minor(self) -> int:
        return self.protocol & 0xFFFF

    def encode(self) -> bytes:
        return encode_startup(self.parameters, self.protocol)


@dataclass(frozen=True, slots=True)
class SSLRequest:
    raw: bytes = field(default=SSL_REQUEST_BYTES, repr=False)

    def encode(self) -> bytes:
        return SSL_REQUEST_BYTES


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    raw: bytes = field(default=GSSENC_REQUEST_BYTES, repr=False)

    def encode(self) -> bytes:
        return GSSENC_REQUEST_BYTES


@dataclass(frozen=True, slots=True)
class CancelRequest:
    process_id: int
    secret_key: int = field(repr=False)
    raw: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not self.raw:
            object.__setattr__(self, "raw", self.encode())

    def encode(self) -> bytes:
        return encode_cancel(self.process_id, self.secret_key)


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest


def encode_startup(params: Mapping[str, str], protocol: int = PROTOCOL_3_0) -> bytes:
    """A complete StartupMessage packet (length included)."""
    payload = b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\x00"
    return _PAIR.pack(len(payload) + 8, protocol) + payload


def encode_cancel(pid: int, key: int) -> bytes:
    """A complete CancelRequest packet."""
    return struct.pack("!iiii", 16, CANCEL_REQUEST_CODE, pid, key)


def decode_startup(packet: bytes) -> StartupPacket:
    """Decode one whole untyped packet (as returned by `StartupSplitter.feed`)."""
    if len(packet) < 8 or INT32.unpack_from(packet, 0)[0] != len(packet):
        raise ProtocolViolation("malformed startup packet: length mismatch")
    (code,) = INT32.unpack_from(packet, 4)
    if code in (SSL_REQUEST_CODE, GSSENC_REQUEST_CODE):
        if len(packet) != 8:
            raise ProtocolViolation("malformed startup packet: request has a payload")
        return SSLRequest() if code == SSL_REQUEST_CODE else GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        if len(packet) != 16:
            raise ProtocolViolation("malformed CancelRequest: wrong length")
        pid, key = _PAIR.unpack_from(packet, 8)
        return CancelRequest(pid, key, raw=bytes(packet))
    if code >> 16 != 3:
        raise ProtocolViolation(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    return StartupMessage(code, _decode_parameters(bytes(packet[8:])), raw=bytes(packet))


def _decode_parameters(payload: bytes) -> Parameters:
    reader = Reader(payload, "StartupMessage")
    pairs: list[tuple[str, str]] = []
    while True:
        name = reader.cstr()
        if not name:
            break
        pairs.append((name, reader.cstr()))
    reader.end()
    try:
        return Parameters(tuple(pairs))
    except ValueError:
        raise ProtocolViolation("malformed StartupMessage: duplicate parameter") from None
