"""A packet stream over an asyncio StreamReader/StreamWriter pair.

Reads go through the pure `FrameDecoder` in 64 KiB chunks; writes are framed with
this stream's own sequence counter and batched until `flush`, so a result set costs
one socket write per upstream read rather than one per row. The handshake drives the
stream with `read`/`send`; the relay, once it has taken the transports over
(`wardgate.endpoint`), hands it each read with `receive` and writes what
`take_output` returns, one socket write per upstream read.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from wardgate_mysql.codec.errors import SequenceError
from wardgate_mysql.codec.framing import FrameDecoder, Packet, encode_packet
from wardgate_mysql.tls import TlsLayer

READ_SIZE = 64 * 1024
FLUSH_THRESHOLD = 256 * 1024


class StreamClosed(Exception):
    """The peer closed the connection (or it broke) while a packet was expected."""


class PacketStream:
    def __init__(self, reader: Any, writer: Any, max_payload: int) -> None:
        self.reader: asyncio.StreamReader = reader
        self.writer: asyncio.StreamWriter = writer
        self.decoder = FrameDecoder(max_payload)
        self.seq = 0
        self._out: list[bytes] = []
        self._out_size = 0
        self.bytes_out = 0
        self.tls_layer: TlsLayer | None = None

    @property
    def tls(self) -> bool:
        return self.tls_layer is not None

    def peer(self) -> tuple[str, int]:
        peer = self.writer.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            return str(peer[0]), int(peer[1])
        return "local", 0

    async def read(self) -> Packet:
        """The next packet; its sequence id must be the one expected."""
        packet = self.poll()
        while packet is None:
            await self.fill()
            packet = self.poll()
        return packet

    def poll(self) -> Packet | None:
        """The next packet if it is already buffered, else None."""
        packet = self.decoder.next_packet()
        if packet is not None:
            if packet.seq != self.seq:
                raise SequenceError(f"packet has sequence id {packet.seq}, expected {self.seq}")
            self.seq = packet.next_seq
        return packet

    def take_rows(self) -> tuple[bytes, list[int]]:
        """`FrameDecoder.take_rows` at this stream's sequence id, which it advances."""
        rows, starts = self.decoder.take_rows(self.seq)
        self.seq = (self.seq + len(starts)) & 0xFF
        return rows, starts

    def buffered(self) -> bool:
        return self.decoder.buffered > 0

    async def fill(self) -> None:
        data = await self._receive()
        if not data:
            raise StreamClosed("connection closed by peer")
        if self.tls_layer is None:
            self.decoder.feed(data)
            return
        self.tls_layer.feed(data)
        self.decoder.feed(self.tls_layer.read_plain())
        await self._send_raw(self.tls_layer.take_output())  # TLS 1.3 tickets, alerts

    def receive(self, data: bytes) -> bytes:
        """Take bytes read by someone else (the relay's `Endpoint`); returns any TLS
        output (tickets, alerts) to send back to the peer unframed."""
        if self.tls_layer is None:
            self.decoder.feed(data)
            return b""
        try:
            self.tls_layer.feed(data)
            self.decoder.feed(self.tls_layer.read_plain())
        except ssl.SSLError as exc:
            raise StreamClosed(f"TLS error: {exc}") from exc
        return self.tls_layer.take_output()

    def take_output(self) -> bytes:
        """What `write` has framed since the last flush, encrypted if TLS, for the
        relay to write itself; b"" if nothing."""
        if not self._out:
            return b""
        data = b"".join(self._out) if len(self._out) > 1 else self._out[0]
        self._out.clear()
        self._out_size = 0
        if self.tls_layer is not None:
            data = self.tls_layer.encrypt(data)
        return data

    async def _receive(self) -> bytes:
        try:
            data: bytes = await self.reader.read(READ_SIZE)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise StreamClosed(str(exc)) from exc
        return data

    async def _send_raw(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise StreamClosed(str(exc)) from exc

    def write(self, payload: bytes) -> None:
        frame, self.seq = encode_packet(payload, self.seq)
        self._out.append(frame)
        self._out_size += len(frame)
        self.bytes_out += len(frame)

    def write_framed(self, frames: bytes, count: int) -> None:
        """Append `count` whole frames already numbered from this stream's sequence id
        (rows passed through as the upstream framed them)."""
        self._out.append(frames)
        self._out_size += len(frames)
        self.bytes_out += len(frames)
        self.seq = (self.seq + count) & 0xFF

    async def write_soon(self, payload: bytes) -> None:
        """Write, flushing when enough is buffered to be worth a syscall."""
        self.write(payload)
        if self._out_size >= FLUSH_THRESHOLD:
            await self.flush()

    async def flush(self) -> None:
        await self._send_raw(self.take_output())

    async def send(self, payload: bytes) -> None:
        self.write(payload)
        await self.flush()

    async def start_tls(
        self, context: ssl.SSLContext, server_side: bool, server_hostname: str | None = None
    ) -> None:
        """Upgrade to TLS; bytes already received stay in the handshake."""
        await self.flush()
        layer = TlsLayer(context, server_side, server_hostname)
        if leftover := self.decoder.take_buffered():
            layer.feed(leftover)
        try:
            while not layer.handshake_step():
                await self._send_raw(layer.take_output())
                data = await self._receive()
                if not data:
                    raise StreamClosed("connection closed during the TLS handshake")
                layer.feed(data)
        except ssl.SSLError as exc:
            raise StreamClosed(f"TLS handshake failed: {exc}") from exc
        await self._send_raw(layer.take_output())
        self.decoder.feed(layer.read_plain())
        self.tls_layer = layer

    async def close(self) -> None:
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except (ConnectionError, ssl.SSLError, OSError, TimeoutError):
            pass
