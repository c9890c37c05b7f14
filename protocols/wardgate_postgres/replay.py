"""Serving a recorded session to a real PostgreSQL client (`wardgate replay --serve`).

The recording holds what the agent's client saw from the server, starting with the
greeting (AuthenticationOk … ReadyForQuery) — the start-up and the token are never
recorded. Replay cuts that server stream into *exchanges*, each ending with a
ReadyForQuery, and serves them in order: the greeting right after the client's
StartupMessage (SSLRequest and GSSENCRequest are declined, no authentication is
asked), then one exchange for every Query or Sync the client sends, which are the
messages a server answers with ReadyForQuery. The client therefore receives exactly
the recorded bytes; what it sends is read only to find those boundaries. When the
recording runs out, the client gets an error and the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from wardgate.seam import Direction, RecordedFrame
from wardgate_postgres import sqlstate
from wardgate_postgres.codec import (
    CancelRequest,
    FrameSplitter,
    GSSENCRequest,
    SSLRequest,
    decode_startup,
)
from wardgate_postgres.frames import fatal

_QUERY, _SYNC, _TERMINATE, _READY = ord("Q"), ord("S"), ord("X"), ord("Z")
MAX_FRAME = 1 << 30
READ_SIZE = 64 * 1024


def exchanges(frames: Sequence[RecordedFrame]) -> list[bytes]:
    """The recorded server stream cut after every ReadyForQuery (a tail is kept too)."""
    splitter = FrameSplitter(MAX_FRAME)
    units: list[bytes] = []
    current: list[bytes] = []
    for frame in frames:
        if frame.direction is not Direction.SERVER_TO_CLIENT:
            continue
        for message in splitter.feed(frame.data):
            current.append(message.raw)
            if message.type == _READY:
                units.append(b"".join(current))
                current = []
    if current:
        units.append(b"".join(current))
    return units


async def _startup(reader: Any, writer: Any) -> bool:
    """Decline encryption until a StartupMessage arrives; False for a CancelRequest."""
    while True:
        length = int.from_bytes(await reader.readexactly(4), "big")
        packet = length.to_bytes(4, "big") + await reader.readexactly(length - 4)
        message = decode_startup(packet)
        if isinstance(message, SSLRequest | GSSENCRequest):
            writer.write(b"N")
            await writer.drain()
            continue
        return not isinstance(message, CancelRequest)


class _Player:
    def __init__(self, units: list[bytes], writer: Any) -> None:
        self._units = units
        self._next = 0
        self._writer = writer

    def answer(self) -> bool:
        """Send the next exchange; False when the recording has none left."""
        if self._next >= len(self._units):
            self._writer.write(
                fatal(sqlstate.CONNECTION_FAILURE, "wardgate replay: the recording has ended")
            )
            return False
        self._writer.write(self._units[self._next])
        self._next += 1
        return True


async def serve_recording(frames: Sequence[RecordedFrame], reader: Any, writer: Any) -> None:
    """Serve one client connection from `frames` (see the module docstring)."""
    player = _Player(exchanges(frames), writer)
    try:
        if not await _startup(reader, writer) or not player.answer():
            return
        await writer.drain()
        splitter = FrameSplitter(MAX_FRAME)
        while data := await reader.read(READ_SIZE):
            for frame in splitter.feed(data):
                if frame.type == _TERMINATE:
                    return
                if frame.type in (_QUERY, _SYNC) and not player.answer():
                    return
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        return
    finally:
        with contextlib.suppress(Exception):
            await writer.drain()
        writer.close()
