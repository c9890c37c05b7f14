"""Wire-level behaviour through the gateway, with the codec-based raw client."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import pytest

from support.gateway import Gateway, Token
from wardgate_mysql.codec.commands import StmtPrepareOk
from wardgate_mysql.codec.response_state import Phase
from wardgate_mysql.codec.responses import ErrPacket, is_ok

from .rawclient import RawClient


@pytest.fixture
def raw(mysql_gateway: Gateway, agent_token: Token) -> Iterator[RawClient]:
    client = RawClient(mysql_gateway.port("native"), agent_token.secret, database="shop")
    yield client
    client.close()


def _err(packets: list) -> ErrPacket:  # type: ignore[type-arg]
    assert len(packets) == 1
    return ErrPacket.decode(packets[0].payload)


def _ping_ok(client: RawClient) -> bool:
    return is_ok(client.command(b"\x0e", Phase.SINGLE)[0].payload)


@pytest.mark.parametrize("deprecate_eof", [True, False])
def test_cursor_fetch(mysql_gateway: Gateway, agent_token: Token, deprecate_eof: bool) -> None:
    client = RawClient(
        mysql_gateway.port("native"),
        agent_token.secret,
        database="shop",
        deprecate_eof=deprecate_eof,
    )
    try:
        prepared = client.command(b"\x16SELECT id FROM items ORDER BY id", Phase.PREPARED)
        statement = StmtPrepareOk.decode(prepared[0].payload).statement_id
        opened = client.command(b"\x17" + struct.pack("<IBI", statement, 1, 1), cursor=True)
        assert [p.seq for p in opened] == list(range(1, len(opened) + 1))
        fetched = client.command(b"\x1c" + struct.pack("<II", statement, 3), Phase.ROWS)
        assert len(fetched) == 4  # three rows and the terminator
        assert _ping_ok(client)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\x11raw\x00\x00", 1227),
        (b"\x12\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00", 1227),
        (b"\x08", 1047),
        (b"\x99", 1047),
    ],
    ids=["change_user", "binlog_dump", "shutdown", "unknown"],
)
def test_refused_commands_keep_the_connection(raw: RawClient, payload: bytes, code: int) -> None:
    assert _err(raw.command(payload, Phase.SINGLE)).code == code
    assert _ping_ok(raw)


def test_malformed_packet_closes_only_that_connection(
    raw: RawClient, mysql_gateway: Gateway, agent_token: Token
) -> None:
    other = RawClient(mysql_gateway.port("native"), agent_token.secret)
    try:
        assert _err(raw.command(b"\x17\x01\x00", Phase.SINGLE)).code == 1835
        assert raw.closed()
        assert _ping_ok(other)
    finally:
        other.close()


def test_out_of_order_sequence_id_closes(raw: RawClient) -> None:
    raw.write(b"\x0e", 5)
    assert ErrPacket.decode(raw.read().payload).code == 1156
    assert raw.closed()


def test_client_gone_mid_result(raw: RawClient, mysql_gateway: Gateway, connect: object) -> None:
    start = len(mysql_gateway.events())
    raw.write(b"\x03SELECT a.id, b.name FROM items a, items b LIMIT 3000000", 0)
    raw.read()
    raw.close()
    record = mysql_gateway.wait_for_event(
        lambda r: r.get("event") == "session_end" and "mid-result" in r.get("reason", ""),
        timeout=20,
        start=start,
    )
    assert record["resource"] == "native"
    time.sleep(0.1)
    assert connect  # the gateway keeps serving:
    with connect().cursor() as cur:  # type: ignore[operator]
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
