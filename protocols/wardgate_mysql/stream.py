"""A packet stream over an asyncio StreamReader/StreamWriter pair.

Reads go through the pure `FrameDecoder` in 64 KiB chunks; writes are framed with
this stream's own sequence counter and batched until `flush`, so a result set costs
one socket write per upstream read rather than one per row. The relay flushes the client
stream whenever `poll` finds no complete upstream packet, so rows reach the client as
soon as the upstream pauses, with `drain()` giving back-pressure.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from wardgate_mysql.codec.errors import SequenceError
from wardgate_mysql.codec.framing import FrameDecoder, Packet, encode_packet

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

    @property
    def tls(self) -> bool:
        return self.writer.get_extra_info("ssl_object") is not None

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

    def buffered(self) -> bool:
        return self.decoder.buffered > 0

    async def fill(self) -> None:
        try:
            data = await self.reader.read(READ_SIZE)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise StreamClosed(str(exc)) from exc
        if not data:
            raise StreamClosed("connection closed by peer")
        self.decoder.feed(data)

    def write(self, payload: bytes) -> None:
        frame, self.seq = encode_packet(payload, self.seq)
        self._out.append(frame)
        self._out_size += len(frame)
        self.bytes_out += len(frame)

    async def write_soon(self, payload: bytes) -> None:
        """Write, flushing when enough is buffered to be worth a syscall."""
        self.write(payload)
        if self._out_size >= FLUSH_THRESHOLD:
            await self.flush()

    async def flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise StreamClosed(str(exc)) from exc

    async def send(self, payload: bytes) -> None:
        self.write(payload)
        await self.flush()

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str | None = None) -> None:
        await self.flush()
        await self.writer.start_tls(context, server_hostname=server_hostname)

    async def close(self) -> None:
        try:
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except (ConnectionError, ssl.SSLError, OSError, TimeoutError):
            pass
