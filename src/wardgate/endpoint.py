"""One side of a relay: a stream's transport, taken over for callback-driven relaying.

Handshakes are easiest to write with `StreamReader`/`StreamWriter`; relaying is
cheapest without them (no future, no task wake-up per read). An `Endpoint` swaps
itself in as the transport's protocol once the handshake is over, hands the owner
every read in `data_received`, and gives the stream protocol back when the relay
ends, so the connection's remaining life (closing frames, `wait_closed`) works as
before. Reading is paused while *any* reason to pause holds (the peer's write
buffer is full, the owner is busy) and resumed when none does; two `pair`ed sides
push back on each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast


class Endpoint(asyncio.Protocol):
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[Exception | None], None],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.transport: asyncio.Transport | None = None  # set by `attach`
        self._on_data = on_data
        self._on_lost = on_lost
        self.peer: Endpoint | None = None  # the other side of the relay (`pair`)
        self._stream_protocol: Any = None
        self._pauses: set[str] = set()
        self.attached = False
        self.lost = False

    # -- taking over and giving back -------------------------------------------------

    def attach(self) -> tuple[bytes, bool]:
        """Become the transport's protocol; returns what the stream had buffered, and EOF."""
        transport = self.transport = cast(asyncio.Transport, self._writer.transport)
        self._stream_protocol = transport.get_protocol()
        reader = self._reader
        buffered: bytearray = getattr(reader, "_buffer", bytearray())
        leftover = bytes(buffered)
        buffered.clear()
        ended = reader.at_eof() or reader.exception() is not None or transport.is_closing()
        transport.set_protocol(self)
        self.attached = True
        if not ended and not transport.is_reading():
            transport.resume_reading()  # the stream may have paused it at its limit
        return leftover, ended

    def detach(self) -> None:
        """Give the transport back to its stream protocol (unless the connection is gone)."""
        if not self.attached:
            return
        self.attached = False
        if not self.lost and self.transport is not None and self._stream_protocol is not None:
            self.transport.set_protocol(self._stream_protocol)

    # -- flow control -----------------------------------------------------------------

    def pair(self, peer: Endpoint) -> None:
        """Couple two sides: when one's write buffer fills, the other stops being read
        until it drains, so a slow reader pushes back on the writer instead of
        filling memory."""
        self.peer, peer.peer = peer, self

    def pause(self, reason: str) -> None:
        transport = self.transport
        if not self._pauses and transport is not None and not self.lost and transport.is_reading():
            transport.pause_reading()
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        if reason not in self._pauses:
            return
        self._pauses.discard(reason)
        transport = self.transport
        if transport is None or self._pauses or self.lost or transport.is_closing():
            return
        if not transport.is_reading():
            transport.resume_reading()

    @property
    def writable(self) -> bool:
        """Attached, connected and not closing: a write would reach the peer."""
        transport = self.transport
        return transport is not None and not self.lost and not transport.is_closing()

    def write(self, data: bytes) -> bool:
        """Write if `writable`; returns whether it did."""
        transport = self.transport
        if transport is not None and not self.lost and not transport.is_closing():
            transport.write(data)
            return True
        return False

    # -- asyncio.Protocol ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        stream = self._stream_protocol
        if stream is not None:  # the stream sees the end too (reader EOF, wait_closed)
            stream.connection_lost(exc)
        self._on_lost(exc)

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause("peer-writes")

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume("peer-writes")


def take_over(upstream: Endpoint, client: Endpoint, *, feed_client_always: bool = False) -> None:
    """Attach both sides of a relay after a stream handshake, then hand each its
    callbacks for what the handshake's streams had buffered: the upstream's bytes and
    end first, then the client's. An empty upstream read is never fed;
    `feed_client_always` feeds the client's even when empty (a relay whose client
    decoder may already hold whole packets from the handshake: MySQL)."""
    upstream_buffered, upstream_ended = upstream.attach()
    client_buffered, client_ended = client.attach()
    if upstream_buffered:
        upstream._on_data(upstream_buffered)
    if upstream_ended:
        upstream._on_lost(None)
    if client_buffered or feed_client_always:
        client._on_data(client_buffered)
    if client_ended:
        client._on_lost(None)
