"""The MySQL replay hook: login recorded without secrets, one exchange per command."""

from __future__ import annotations

import asyncio

from wardgate.seam import Direction, RecordedFrame
from wardgate_mysql.codec.constants import RELAYABLE, Capability, Com
from wardgate_mysql.codec.framing import FrameDecoder, Packet, encode_packet
from wardgate_mysql.codec.handshake import HandshakeResponse41, HandshakeV10
from wardgate_mysql.codec.responses import ErrPacket, OkPacket
from wardgate_mysql.frontend import ClientHello
from wardgate_mysql.replay import (
    DEFAULT_GREETING,
    login_frames,
    mismatch,
    offer,
    script,
    serve_recording,
)

S2C, C2S = Direction.SERVER_TO_CLIENT, Direction.CLIENT_TO_SERVER
CAPS = int(RELAYABLE | Capability.SSL | Capability.LONG_PASSWORD)
AGENT_CAPS = CAPS & ~Capability.DEPRECATE_EOF & ~Capability.SSL
GREETING = HandshakeV10("10.11.19-MariaDB", 7, bytes(range(1, 21)), CAPS)
RESPONSE = HandshakeResponse41(AGENT_CAPS, "agent", b"wgt_secret\0", "shop", "mysql_clear_password")
OK = OkPacket().encode(AGENT_CAPS)
ROWS = [b"\x01", b"\x03def\x00\x00\x00\x01r\x00\x0c?\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00"]
ROWS += [b"\xfe\x00\x00\x02\x00", b"\x010", b"\xfe\x00\x00\x02\x00"]
SELECT = bytes((Com.QUERY,)) + b"SELECT 0"


def hello() -> ClientHello:
    return ClientHello(RESPONSE, "wgt_secret", AGENT_CAPS, False, GREETING)


def recording() -> list[RecordedFrame]:
    frames = [RecordedFrame(0.0, d, data) for d, data in login_frames(hello(), OK)]
    frames.append(RecordedFrame(0.1, C2S, SELECT))
    frames += [RecordedFrame(0.2, S2C, row) for row in ROWS]
    frames.append(RecordedFrame(0.3, C2S, bytes((Com.STMT_CLOSE,)) + bytes(4)))
    frames.append(RecordedFrame(0.4, C2S, bytes((Com.QUIT,))))
    return frames


def test_the_recorded_login_holds_no_secret() -> None:
    frames = login_frames(hello(), OK)
    assert [d for d, _ in frames] == [S2C, C2S, S2C]
    assert b"wgt_secret" not in b"".join(data for _, data in frames)
    response = HandshakeResponse41.decode(frames[1][1])
    assert (response.username, response.database, response.auth_response) == ("agent", "shop", b"")


def test_script_cuts_login_and_exchanges() -> None:
    cut = script(recording())
    assert cut.greeting.server_version == "10.11.19-MariaDB"
    assert cut.negotiated == AGENT_CAPS & CAPS
    assert cut.ok == OK
    assert [(e.command, len(e.response)) for e in cut.exchanges] == [
        (Com.QUERY, len(ROWS)),
        (Com.STMT_CLOSE, 0),
        (Com.QUIT, 0),
    ]


def test_a_recording_without_login_is_greeted_by_default() -> None:
    cut = script(recording()[3:])
    assert cut.greeting == DEFAULT_GREETING
    assert cut.negotiated is None
    assert len(cut.exchanges) == 3


def test_offer_drops_tls_and_framing_the_agent_lacked() -> None:
    offered = offer(script(recording())).capabilities
    assert not offered & Capability.SSL
    assert not offered & Capability.DEPRECATE_EOF
    assert offered & Capability.CONNECT_WITH_DB  # not shaping: left as the agent saw it


def test_a_client_without_the_recorded_framing_is_refused() -> None:
    cut = script(recording())
    offered = offer(cut).capabilities
    assert mismatch(cut, AGENT_CAPS, offered) == ""
    why = mismatch(cut, AGENT_CAPS & ~Capability.MULTI_RESULTS, offered)
    assert "MULTI_RESULTS" in why


def packets(data: bytes) -> list[Packet]:
    decoder = FrameDecoder()
    decoder.feed(data)
    found = []
    while (packet := decoder.next_packet()) is not None:
        found.append(packet)
    return found


async def read_packet(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    return await reader.readexactly(int.from_bytes(header[:3], "little"))


async def _client_session() -> bytes:
    server = await asyncio.start_server(
        lambda r, w: serve_recording(recording(), r, w), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    assert HandshakeV10.decode(await read_packet(reader)).connection_id == 7
    replayer = HandshakeResponse41(AGENT_CAPS, "anyone", b"\x01" * 20)
    writer.write(encode_packet(replayer.encode(), 1)[0])
    assert await read_packet(reader) == OK
    for command in (SELECT, bytes((Com.STMT_CLOSE,)) + bytes(4), SELECT):
        writer.write(encode_packet(command, 0)[0])
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    server.close()
    await server.wait_closed()
    return data


def test_serves_the_recorded_response_with_fresh_sequence_ids() -> None:
    answer = packets(asyncio.run(_client_session()))
    assert [p.payload for p in answer[: len(ROWS)]] == ROWS
    assert [p.seq for p in answer[: len(ROWS)]] == list(range(1, len(ROWS) + 1))
    ended = ErrPacket.decode(answer[len(ROWS)].payload)  # the second SELECT: nothing left
    assert "the recording has ended" in ended.message
