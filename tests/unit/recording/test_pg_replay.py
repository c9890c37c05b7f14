"""The PostgreSQL replay hook: exchanges end at ReadyForQuery; clients get recorded bytes."""

from __future__ import annotations

import asyncio

from wardgate.seam import Direction, RecordedFrame
from wardgate_postgres.codec import (
    AuthenticationOk,
    CommandComplete,
    Query,
    ReadyForQuery,
    encode_startup,
)
from wardgate_postgres.replay import exchanges, serve_recording

S2C, C2S = Direction.SERVER_TO_CLIENT, Direction.CLIENT_TO_SERVER
GREETING = AuthenticationOk().raw + ReadyForQuery("I").raw
ANSWER = CommandComplete("SELECT 1").raw + ReadyForQuery("I").raw


def frames() -> list[RecordedFrame]:
    answer_split = [ANSWER[:3], ANSWER[3:]]  # chunks need not align with messages
    return [
        RecordedFrame(0.0, S2C, GREETING),
        RecordedFrame(0.1, C2S, Query.build("select 1").raw),
        RecordedFrame(0.2, S2C, answer_split[0]),
        RecordedFrame(0.3, S2C, answer_split[1]),
    ]


def test_exchanges_cut_after_ready_for_query() -> None:
    assert exchanges(frames()) == [GREETING, ANSWER]


def test_serves_the_recorded_bytes_to_a_client() -> None:
    async def run() -> bytes:
        server = await asyncio.start_server(
            lambda r, w: serve_recording(frames(), r, w), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")  # SSLRequest
        assert await reader.readexactly(1) == b"N"
        writer.write(encode_startup({"user": "x", "database": "y"}))
        writer.write(Query.build("select 1").raw + Query.build("select 2").raw)
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        server.close()
        await server.wait_closed()
        return data

    data = asyncio.run(run())
    assert data.startswith(GREETING + ANSWER)
    assert b"the recording has ended" in data[len(GREETING + ANSWER) :]
