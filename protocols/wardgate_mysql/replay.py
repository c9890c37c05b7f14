"""Serving a recorded session to a real MySQL / MariaDB client (`wardgate replay --serve`).

What a MySQL recording holds (one frame per packet payload, no framing):

    S→C  HandshakeV10 the gateway greeted the agent with
    C→S  the agent's HandshakeResponse41, its auth data blanked (never a token or scramble)
    S→C  the login OK the agent got
    then per command: C→S the command packet, S→C every packet of its response

The auth switch to `mysql_clear_password` and the token that answered it are never
recorded. Recordings made before the login was recorded start at the first command;
they are greeted with a default handshake.

Serving replays the server side: the recorded greeting (TLS not offered, and only
the result-shaping capabilities the agent negotiated, so a client frames results the
way the recording does), then the recorded OK whatever the client authenticates with,
then for each command packet the recorded response of the next exchange, re-framed
with the sequence ids this client expects. A client that negotiated different result
framing (e.g. no CLIENT_DEPRECATE_EOF where the agent had it) is refused with an ERR:
the recorded bytes would not parse. Commands without a response (COM_STMT_CLOSE,
COM_STMT_SEND_LONG_DATA) are answered with nothing; COM_QUIT ends the connection;
when the recording has no exchange left the client gets an ERR. What the client
sends is read only to find these boundaries; a replay does not check that it matches.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wardgate.seam import Direction, RecordedFrame
from wardgate_mysql.codec.constants import RELAYABLE, SHAPING, Capability, Com
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.handshake import PROTOCOL_VERSION, HandshakeResponse41, HandshakeV10
from wardgate_mysql.codec.responses import OkPacket
from wardgate_mysql.frontend import ClientHello
from wardgate_mysql.results import err_payload
from wardgate_mysql.stream import PacketStream, StreamClosed

S2C, C2S = Direction.SERVER_TO_CLIENT, Direction.CLIENT_TO_SERVER
#: A replaying client's commands may be as large as any the gateway relays.
MAX_PAYLOAD = 1 << 30
NO_RESPONSE = frozenset({Com.STMT_CLOSE, Com.STMT_SEND_LONG_DATA})
#: For recordings without a login: what the gateway offers when its upstream is unknown.
DEFAULT_GREETING = HandshakeV10(
    server_version="8.0.0-wardgate-replay",
    connection_id=1,
    nonce=bytes(range(1, 21)),
    capabilities=RELAYABLE | Capability.LONG_PASSWORD,
)
ENDED = "wardgate replay: the recording has ended"


def login_frames(hello: ClientHello, ok: bytes) -> list[tuple[Direction, bytes]]:
    """What the listener records of a login: greeting, blanked response, OK."""
    frames: list[tuple[Direction, bytes]] = []
    if hello.greeting is not None:
        frames.append((S2C, hello.greeting.encode()))
    blank = dataclasses.replace(hello.response, auth_response=b"")
    frames += [(C2S, blank.encode()), (S2C, ok)]
    return frames


@dataclass(slots=True)
class Exchange:
    command: int
    response: list[bytes] = field(default_factory=list)


@dataclass(slots=True)
class Script:
    """A recording cut into the login and the command exchanges that follow it."""

    greeting: HandshakeV10
    negotiated: int | None  # the agent's capabilities; None when not recorded
    ok: bytes
    exchanges: list[Exchange]


def script(frames: Sequence[RecordedFrame]) -> Script:
    head = _recorded_login(frames)
    if head is None:
        return Script(DEFAULT_GREETING, None, OkPacket().encode(0), exchanges(frames))
    greeting, negotiated, ok = head
    return Script(greeting, negotiated, ok, exchanges(frames[3:]))


def _recorded_login(frames: Sequence[RecordedFrame]) -> tuple[HandshakeV10, int, bytes] | None:
    """Greeting, negotiated capabilities and OK if the recording starts with a login."""
    first = frames[:3]
    if [f.direction for f in first] != [S2C, C2S, S2C] or first[0].data[:1] != bytes(
        (PROTOCOL_VERSION,)
    ):
        return None
    try:
        greeting = HandshakeV10.decode(first[0].data)
        response = HandshakeResponse41.decode(first[1].data)
    except MySQLProtocolError:
        return None
    return greeting, response.capabilities & greeting.capabilities, first[2].data


def exchanges(frames: Sequence[RecordedFrame]) -> list[Exchange]:
    """One exchange per recorded command packet, with the response packets after it."""
    found: list[Exchange] = []
    for frame in frames:
        if frame.direction is C2S:
            found.append(Exchange(frame.data[0] if frame.data else -1))
        elif found:
            found[-1].response.append(frame.data)
    return found


def offer(script: Script) -> HandshakeV10:
    """The recorded greeting without TLS and without shaping bits the agent lacked."""
    capabilities = script.greeting.capabilities & ~Capability.SSL
    if script.negotiated is not None:
        capabilities &= ~(SHAPING & ~script.negotiated)
    return dataclasses.replace(script.greeting, capabilities=capabilities)


def mismatch(script: Script, client_capabilities: int, offered: int) -> str:
    """Why this client cannot be served the recorded bytes, or ""."""
    if script.negotiated is None:
        return ""
    differs = ((client_capabilities & offered) ^ script.negotiated) & SHAPING
    if not differs:
        return ""
    names = ", ".join(str(Capability(bit).name) for bit in _bits(differs))
    return (
        f"wardgate replay: this client negotiated result framing the recording does not "
        f"have ({names}); connect with the client the agent used"
    )


def _bits(value: int) -> list[int]:
    return [1 << i for i in range(32) if value >> i & 1]


class _Player:
    """Answers each command packet with the next recorded exchange."""

    def __init__(self, exchanges: list[Exchange], client: PacketStream) -> None:
        self._exchanges = exchanges
        self._next = 0
        self._client = client

    async def answer(self, command: int) -> bool:
        """Send the response to `command`; False when the connection should end."""
        if command == Com.QUIT:
            return False
        if command in NO_RESPONSE:
            self._skip_if(command)
            return True
        exchange = self._take()
        if exchange is None:
            await self._client.send(err_payload("ER_CONNECTION_KILLED", ENDED))
            return False
        for payload in exchange.response:
            self._client.write(payload)
        await self._client.flush()
        return True

    def _skip_if(self, command: int) -> None:
        if self._next < len(self._exchanges) and self._exchanges[self._next].command == command:
            self._next += 1

    def _take(self) -> Exchange | None:
        """The next exchange that has a response (skipping COM_STMT_CLOSE, COM_QUIT …)."""
        while self._next < len(self._exchanges):
            exchange = self._exchanges[self._next]
            self._next += 1
            if exchange.response:
                return exchange
        return None


async def _login(client: PacketStream, script: Script) -> bool:
    """Greet, take any handshake response, answer with the recorded OK (no auth)."""
    greeting = offer(script)
    await client.send(greeting.encode())
    response = HandshakeResponse41.decode((await client.read()).payload)
    refused = mismatch(script, response.capabilities, greeting.capabilities)
    if refused:
        await client.send(err_payload("ER_HANDSHAKE_ERROR", refused))
        return False
    await client.send(script.ok)
    return True


async def serve_recording(frames: Sequence[RecordedFrame], reader: Any, writer: Any) -> None:
    """Serve one client connection from `frames` (see the module docstring)."""
    recorded = script(frames)
    client = PacketStream(reader, writer, MAX_PAYLOAD)
    try:
        if not await _login(client, recorded):
            return
        player = _Player(recorded.exchanges, client)
        while True:
            client.seq = 0
            packet = await client.read()
            if not await player.answer(packet.first):
                return
    except (StreamClosed, MySQLProtocolError, ConnectionError):
        return
    finally:
        with contextlib.suppress(Exception):
            await client.close()
