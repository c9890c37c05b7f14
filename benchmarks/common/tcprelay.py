"""A byte-for-byte TCP relay in Python: the floor under any Python gateway.

It understands nothing and decides nothing; it only moves bytes, so its cost per
transaction is what the event loop and the socket calls alone cost. Two shapes:

- ``streams``: ``StreamReader.read`` → ``StreamWriter.write`` → ``await drain()`` per
  chunk, the shape of wardgate's relay today;
- ``protocol``: ``asyncio.Protocol`` callbacks writing straight to the peer transport,
  with pause/resume reading as flow control (no coroutine switch per chunk).

Run ``python -m benchmarks.common.tcprelay --upstream HOST:PORT --ready-file F [--mode
protocol]``; it listens on a free port, writes ``{"listen": "host:port"}`` to F and
uses uvloop when installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import cast

READ_SIZE = 256 * 1024
_tasks: set[asyncio.Task[None]] = set()  # connect tasks, kept alive until done


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def _streams_client(
    host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    up_reader, up_writer = await asyncio.open_connection(host, port)
    pumps = [_pump(reader, up_writer), _pump(up_reader, writer)]
    await asyncio.gather(*pumps, return_exceptions=True)


class _Half(asyncio.Protocol):
    """One side of a connection pair: what it receives goes to `peer`'s transport."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Half | None = None
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            self.pending += data

    def pause_writing(self) -> None:  # our transport is full: stop reading the peer
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()


async def _protocol_server(host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()

    def client_factory() -> _Half:
        client = _Half()

        async def connect() -> None:
            _, upstream = await loop.create_connection(_Half, host, port)
            upstream.peer, client.peer = client, upstream
            if client.pending:
                assert upstream.transport is not None
                upstream.transport.write(client.pending)
                client.pending = b""

        task = loop.create_task(connect())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        return client

    return await loop.create_server(client_factory, "127.0.0.1", 0)


async def serve(upstream: str, mode: str, ready_file: Path) -> None:
    host, _, port_text = upstream.rpartition(":")
    port = int(port_text)
    server: asyncio.Server
    if mode == "streams":
        server = await asyncio.start_server(
            lambda r, w: _streams_client(host, port, r, w), "127.0.0.1", 0
        )
    else:
        server = await _protocol_server(host, port)
    address = server.sockets[0].getsockname()
    ready_file.write_text(json.dumps({"listen": f"{address[0]}:{address[1]}"}))  # noqa: ASYNC240
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--upstream", required=True, help="HOST:PORT to relay to")
    parser.add_argument("--mode", choices=("streams", "protocol"), default="streams")
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args()
    coro = serve(args.upstream, args.mode, args.ready_file)
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


if __name__ == "__main__":
    main()
