"""A minimal blocking MySQL client built on the plugin's codec, for wire-level tests.

It logs in with the token through the mysql_clear_password auth switch and then
sends raw command payloads, returning the response packets as the gateway framed
them, so tests can check sequence ids, packet kinds and refusals exactly.
"""

from __future__ import annotations

import socket

from wardgate_mysql.codec.constants import RELAYABLE, Capability
from wardgate_mysql.codec.framing import FrameDecoder, Packet, encode_packet
from wardgate_mysql.codec.handshake import HandshakeResponse41, HandshakeV10
from wardgate_mysql.codec.response_state import Phase, ResponseTracker


class RawClient:
    def __init__(
        self,
        port: int,
        token: str,
        *,
        database: str = "",
        deprecate_eof: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.decoder = FrameDecoder()
        self.greeting = HandshakeV10.decode(self.read().payload)
        caps = RELAYABLE & self.greeting.capabilities
        if not deprecate_eof:
            caps &= ~Capability.DEPRECATE_EOF
        if database:
            caps |= Capability.CONNECT_WITH_DB
        self.caps = int(caps & ~Capability.CONNECT_ATTRS)
        response = HandshakeResponse41(
            self.caps, "raw", b"x" * 20, database, "mysql_native_password"
        )
        self.write(response.encode(), 1)
        switch = self.read()
        if switch.first == 0xFE:
            self.write(token.encode() + b"\0", switch.next_seq)
            self.login = self.read()
        else:
            self.login = switch

    def read(self) -> Packet:
        while (packet := self.decoder.next_packet()) is None:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.decoder.feed(data)
        return packet

    def write(self, payload: bytes, seq: int = 0) -> None:
        self.sock.sendall(encode_packet(payload, seq)[0])

    def command(
        self, payload: bytes, phase: Phase | None = Phase.FIRST, cursor: bool = False
    ) -> list[Packet]:
        """Send one command (seq 0) and read its whole response."""
        self.write(payload, 0)
        if phase is None:
            return []
        tracker = ResponseTracker(phase, self.caps, cursor)
        packets = []
        while not tracker.done:
            packet = self.read()
            tracker.feed(packet.payload)
            packets.append(packet)
        return packets

    def closed(self) -> bool:
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True

    def close(self) -> None:
        self.sock.close()
