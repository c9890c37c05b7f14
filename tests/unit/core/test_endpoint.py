"""`wardgate.endpoint.Endpoint`: taking a stream's transport over and giving it back."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from wardgate.endpoint import Endpoint, take_over

LOOPS = ["asyncio", "uvloop"]  # `serve` runs on uvloop; plain asyncio must work too


def run(loop_kind: str, coro: object) -> None:
    if loop_kind == "uvloop":
        uvloop.run(coro)  # type: ignore[arg-type]
    else:
        asyncio.run(coro)  # type: ignore[arg-type]


async def stream_pair() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, socket.socket]:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    theirs.setblocking(False)
    return reader, writer, theirs


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_takes_over_with_what_the_stream_buffered_then_relays_reads(loop_kind: str) -> None:
    async def main() -> None:
        reader, writer, peer = await stream_pair()
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(peer, b"handshake|pipelined")
        assert await reader.readexactly(10) == b"handshake|"
        await asyncio.sleep(0.01)  # the rest now sits in the StreamReader's buffer

        received: list[bytes] = []
        got = asyncio.Event()

        def on_data(data: bytes) -> None:
            received.append(data)
            got.set()

        endpoint = Endpoint(reader, writer, on_data, lambda e: None)
        leftover, ended = endpoint.attach()
        assert (leftover, ended) == (b"pipelined", False)

        await loop.sock_sendall(peer, b"next")
        await asyncio.wait_for(got.wait(), 5)
        assert received == [b"next"]
        endpoint.write(b"reply")
        assert await loop.sock_recv(peer, 100) == b"reply"

        endpoint.detach()  # the stream works again afterwards
        await loop.sock_sendall(peer, b"after")
        assert await reader.readexactly(5) == b"after"
        writer.close()
        await writer.wait_closed()
        peer.close()

    run(loop_kind, main())


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_loss_reaches_the_owner_and_the_stream(loop_kind: str) -> None:
    async def main() -> None:
        reader, writer, peer = await stream_pair()
        lost = asyncio.Event()
        endpoint = Endpoint(reader, writer, lambda d: None, lambda e: lost.set())
        endpoint.attach()
        peer.close()
        await asyncio.wait_for(lost.wait(), 5)
        assert endpoint.lost
        assert not endpoint.writable
        endpoint.write(b"ignored")  # no error on a lost connection
        endpoint.detach()
        assert reader.at_eof()
        await asyncio.wait_for(writer.wait_closed(), 5)  # the stream saw the end too

    run(loop_kind, main())


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_reading_stays_paused_while_any_reason_holds(loop_kind: str) -> None:
    async def main() -> None:
        reader, writer, peer = await stream_pair()
        endpoint = Endpoint(reader, writer, lambda d: None, lambda e: None)
        endpoint.attach()
        transport = endpoint.transport
        assert transport is not None
        endpoint.pause("peer-full")
        endpoint.pause("busy")
        assert not transport.is_reading()
        endpoint.resume("peer-full")
        assert not transport.is_reading()
        endpoint.resume("unknown")  # never paused for that: no effect
        endpoint.resume("busy")
        assert transport.is_reading()
        endpoint.detach()
        writer.close()
        await writer.wait_closed()
        peer.close()

    run(loop_kind, main())


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_paired_sides_push_back_on_each_other(loop_kind: str) -> None:
    async def main() -> None:
        reader_a, writer_a, peer_a = await stream_pair()
        reader_b, writer_b, peer_b = await stream_pair()
        a = Endpoint(reader_a, writer_a, lambda d: None, lambda e: None)
        b = Endpoint(reader_b, writer_b, lambda d: None, lambda e: None)
        a.pair(b)
        a.attach()
        b.attach()
        assert b.transport is not None
        a.pause_writing()  # a's write buffer is full: stop reading b
        assert not b.transport.is_reading()
        a.resume_writing()
        assert b.transport.is_reading()
        for endpoint, writer, peer in ((a, writer_a, peer_a), (b, writer_b, peer_b)):
            endpoint.detach()
            writer.close()
            await writer.wait_closed()
            peer.close()

    run(loop_kind, main())


@pytest.mark.parametrize("loop_kind", LOOPS)
@pytest.mark.parametrize("feed_client_always", [False, True])
def test_take_over_replays_the_handshakes_leftovers_upstream_first(
    loop_kind: str, feed_client_always: bool
) -> None:
    """Buffered upstream bytes and its end, then the client's (empty only on request)."""

    async def main() -> None:
        up_reader, up_writer, up_peer = await stream_pair()
        cl_reader, cl_writer, cl_peer = await stream_pair()
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(up_peer, b"greeting|rows")
        assert await up_reader.readexactly(9) == b"greeting|"
        up_peer.shutdown(socket.SHUT_WR)  # the upstream ended during the handshake
        await asyncio.sleep(0.01)
        events: list[tuple[str, object]] = []
        upstream = Endpoint(
            up_reader,
            up_writer,
            lambda d: events.append(("server", d)),
            lambda e: events.append(("server_end", e)),
        )
        client = Endpoint(
            cl_reader,
            cl_writer,
            lambda d: events.append(("client", d)),
            lambda e: events.append(("client_end", e)),
        )
        take_over(upstream, client, feed_client_always=feed_client_always)
        expected: list[tuple[str, object]] = [("server", b"rows"), ("server_end", None)]
        if feed_client_always:
            expected.append(("client", b""))
        assert events == expected
        for writer in (up_writer, cl_writer):
            writer.close()
        up_peer.close()
        cl_peer.close()

    run(loop_kind, main())
