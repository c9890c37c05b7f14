"""Codec vectors both ways, every packet split at every byte, malformed input, fuzzing."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from hypothesis import given
from hypothesis import strategies as st

from wardgate_mysql.codec import ed25519
from wardgate_mysql.codec.auth import native_scramble, sha2_scramble
from wardgate_mysql.codec.commands import (
    ComFieldList,
    ComInitDb,
    ComNumber,
    ComQuery,
    ComStatement,
    ComStmtExecute,
    ComStmtPrepare,
    ComStmtSendLongData,
    StmtPrepareOk,
    decode_command,
    decode_execute_params,
)
from wardgate_mysql.codec.constants import MAX_PAYLOAD, Capability, ColumnType, Com
from wardgate_mysql.codec.errors import MalformedPacket, MySQLProtocolError, PacketTooLarge
from wardgate_mysql.codec.framing import FrameDecoder, encode_packet
from wardgate_mysql.codec.handshake import (
    AuthMoreData,
    AuthSwitchRequest,
    HandshakeResponse41,
    HandshakeV10,
    SSLRequest,
)
from wardgate_mysql.codec.responses import EofPacket, ErrPacket, LocalInfileRequest, OkPacket
from wardgate_mysql.codec.resultset import (
    ColumnDefinition41,
    decode_binary_row,
    decode_text_row,
    encode_binary_row,
    encode_text_row,
)
from wardgate_mysql.codec.wire import Reader, put_lenenc_int

CAPS = int(
    Capability.PROTOCOL_41
    | Capability.SECURE_CONNECTION
    | Capability.PLUGIN_AUTH
    | Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA
    | Capability.CONNECT_WITH_DB
    | Capability.CONNECT_ATTRS
    | Capability.SESSION_TRACK
    | Capability.DEPRECATE_EOF
)
NONCE = bytes(range(1, 21))

# (decoder, object, exact payload bytes)
VECTORS: list[tuple[Any, Any, bytes]] = [
    (
        HandshakeV10.decode,
        HandshakeV10("10.11.19-MariaDB", 7, NONCE, CAPS, 45, 2, "mysql_native_password"),
        b"\x0a10.11.19-MariaDB\x00\x07\x00\x00\x00"
        + NONCE[:8]
        + b"\x00"
        + CAPS.to_bytes(4, "little")[:2]
        + b"\x2d\x02\x00"
        + CAPS.to_bytes(4, "little")[2:]
        + b"\x15"
        + bytes(10)
        + NONCE[8:]
        + b"\x00mysql_native_password\x00",
    ),
    (
        SSLRequest.decode,
        SSLRequest(CAPS | Capability.SSL),
        (CAPS | Capability.SSL).to_bytes(4, "little") + b"\x00\x00\x00\x01\x2d" + bytes(23),
    ),
    (
        HandshakeResponse41.decode,
        HandshakeResponse41(
            CAPS, "agent", b"\x01\x02", "shop", "mysql_clear_password", (("_os", "Linux"),)
        ),
        CAPS.to_bytes(4, "little")
        + b"\x00\x00\x00\x01\x2d"
        + bytes(23)
        + b"agent\x00\x02\x01\x02"
        + b"shop\x00mysql_clear_password\x00\x0a\x03_os\x05Linux",
    ),
    (
        AuthSwitchRequest.decode,
        AuthSwitchRequest("mysql_clear_password"),
        b"\xfemysql_clear_password\x00\x00",
    ),
    (AuthMoreData.decode, AuthMoreData(b"\x03"), b"\x01\x03"),
    (
        lambda p: OkPacket.decode(p, CAPS),
        OkPacket(3, 9, 2, 1, "Rows matched"),
        b"\x00\x03\x09\x02\x00\x01\x00\x0cRows matched",
    ),
    (
        ErrPacket.decode,
        ErrPacket(1146, "Table 'x' doesn't exist", "42S02"),
        b"\xff\x7a\x04#42S02Table 'x' doesn't exist",
    ),
    (EofPacket.decode, EofPacket(0, 0x22), b"\xfe\x00\x00\x22\x00"),
    (LocalInfileRequest.decode, LocalInfileRequest("/etc/passwd"), b"\xfb/etc/passwd"),
    (
        ColumnDefinition41.decode,
        ColumnDefinition41("shop", "c", "customers", "mail", "email", 45, 200, 0xFD, 0x1001, 0),
        b"\x03def\x04shop\x01c\x09customers\x04mail\x05email\x0c\x2d\x00\xc8\x00\x00\x00\xfd"
        b"\x01\x10\x00\x00\x00",
    ),
    (ComQuery.decode, ComQuery("SELECT 1"), b"\x03SELECT 1"),
    (ComStmtPrepare.decode, ComStmtPrepare("SELECT ?"), b"\x16SELECT ?"),
    (ComInitDb.decode, ComInitDb("shop"), b"\x02shop"),
    (ComFieldList.decode, ComFieldList("items", "%"), b"\x04items\x00%"),
    (
        ComStmtExecute.decode,
        ComStmtExecute(5, 1, 1, b"\x00\x01\x08\x00\x07\x00\x00\x00\x00\x00\x00\x00"),
        b"\x17\x05\x00\x00\x00\x01\x01\x00\x00\x00\x00\x01\x08\x00\x07" + bytes(7),
    ),
    (
        ComStmtSendLongData.decode,
        ComStmtSendLongData(5, 1, b"abc"),
        b"\x18\x05\x00\x00\x00\x01\x00abc",
    ),
    (
        ComStatement.decode,
        ComStatement(Com.STMT_FETCH, 5, 100),
        b"\x1c\x05\x00\x00\x00\x64\x00\x00\x00",
    ),
    (ComStatement.decode, ComStatement(Com.STMT_CLOSE, 5), b"\x19\x05\x00\x00\x00"),
    (ComNumber.decode, ComNumber(Com.SET_OPTION, 1), b"\x1b\x01\x00"),
    (
        StmtPrepareOk.decode,
        StmtPrepareOk(5, 2, 1, 0),
        b"\x00\x05\x00\x00\x00\x02\x00\x01\x00\x00\x00\x00",
    ),
]


def _encode(obj: Any) -> bytes:
    if isinstance(obj, OkPacket):
        return obj.encode(CAPS)
    return bytes(obj.encode())


@pytest.mark.parametrize(
    ("decode", "obj", "payload"), VECTORS, ids=[type(v[1]).__name__ for v in VECTORS]
)
def test_vectors_both_ways(decode: Any, obj: Any, payload: bytes) -> None:
    assert _encode(obj) == payload
    decoded = decode(payload)
    assert decoded == obj
    assert decoded.raw == payload


@pytest.mark.parametrize(
    "payload", [v[2] for v in VECTORS], ids=[type(v[1]).__name__ for v in VECTORS]
)
def test_every_split_point(payload: bytes) -> None:
    framed, _ = encode_packet(payload, 3)
    for cut in range(len(framed) + 1):
        decoder = FrameDecoder()
        decoder.feed(framed[:cut])
        first = decoder.next_packet()
        decoder.feed(framed[cut:])
        packet = first or decoder.next_packet()
        assert packet is not None
        assert packet.payload == payload
        assert packet.seq == 3


@pytest.mark.parametrize("size", [MAX_PAYLOAD - 1, MAX_PAYLOAD, MAX_PAYLOAD + 5, 2 * MAX_PAYLOAD])
def test_multi_frame_payloads(size: int) -> None:
    payload = bytes([7]) * size
    framed, next_seq = encode_packet(payload, 254)
    frames = size // MAX_PAYLOAD + 1
    assert next_seq == (254 + frames) % 256
    assert len(framed) == size + 4 * frames
    decoder = FrameDecoder()
    for start in range(0, len(framed), 1 << 20):  # arrive in 1 MiB pieces
        decoder.feed(framed[start : start + (1 << 20)])
    packet = decoder.next_packet()
    assert packet is not None
    assert packet.payload == payload
    assert packet.seq == 254
    assert packet.next_seq == next_seq


def test_size_cap_and_sequence_checks() -> None:
    decoder = FrameDecoder(max_payload=10)
    decoder.feed(b"\x0b\x00\x00\x00" + bytes(11))
    with pytest.raises(PacketTooLarge):
        decoder.next_packet()
    decoder = FrameDecoder()
    decoder.feed(b"\xff\xff\xff\x00" + bytes(MAX_PAYLOAD) + b"\x00\x00\x00\x05")
    with pytest.raises(MySQLProtocolError) as info:
        decoder.next_packet()
    assert info.value.code == 1156


@pytest.mark.parametrize(
    ("decode", "obj", "payload"), VECTORS, ids=[type(v[1]).__name__ for v in VECTORS]
)
def test_truncated_packets_raise_typed_errors(decode: Any, obj: Any, payload: bytes) -> None:
    errors: list[MySQLProtocolError] = []
    for cut in range(len(payload)):
        try:
            decode(payload[:cut])
        except MySQLProtocolError as exc:  # anything else fails the test
            errors.append(exc)
    assert all(exc.code and len(exc.sqlstate) == 5 for exc in errors)


def test_rows_round_trip_text_and_binary() -> None:
    values = [b"1", None, b"x" * 300, b""]
    assert decode_text_row(encode_text_row(values), 4) == values
    types = [
        ColumnType.LONG,
        ColumnType.VAR_STRING,
        ColumnType.DATETIME,
        ColumnType.NULL,
        ColumnType.DOUBLE,
    ]
    binary = [b"\x01\x00\x00\x00", b"abc", b"\xe8\x07\x02\x1d", None, bytes(8)]
    assert decode_binary_row(encode_binary_row(binary, types), types) == binary
    with pytest.raises(MalformedPacket):
        decode_text_row(b"\x05ab", 1)


def test_execute_params() -> None:
    params = decode_execute_params(b"\x02\x01\x08\x00\x06\x00" + bytes(8), 2)
    assert params.values == (bytes(8), None)
    again = decode_execute_params(
        b"\x00\x00" + b"\x01" + bytes(7) + b"\x00" * 0 + bytes(8), 2, params.types
    )
    assert again.values[0] == b"\x01" + bytes(7)
    with pytest.raises(MalformedPacket):
        decode_execute_params(b"\x00\x00", 2)


def test_lenenc_boundaries() -> None:
    for value in (0, 250, 251, 0xFFFF, 0x10000, 0xFFFFFF, 0x1000000, 2**64 - 1):
        assert Reader(put_lenenc_int(value)).lenenc_int() == value
    assert Reader(b"\xfb").lenenc_int() is None
    with pytest.raises(MalformedPacket):
        Reader(b"\xff").lenenc_int()


def test_auth_scrambles() -> None:
    stage1 = hashlib.sha1(b"pw").digest()
    scramble = native_scramble(b"pw", NONCE)
    check = hashlib.sha1(NONCE + hashlib.sha1(stage1).digest()).digest()
    assert bytes(a ^ b for a, b in zip(scramble, check, strict=True)) == stage1
    assert native_scramble(b"", NONCE) == b""
    assert len(sha2_scramble(b"pw", NONCE)) == 32


def test_ed25519_matches_rfc8032_for_32_byte_secrets_and_verifies() -> None:
    seed = bytes(range(32))
    assert ed25519.sign(seed, b"msg") == Ed25519PrivateKey.from_private_bytes(seed).sign(b"msg")
    public = Ed25519PublicKey.from_public_bytes(ed25519.public_key(b"ed-pw"))
    public.verify(ed25519.sign(b"ed-pw", NONCE + bytes(12)), NONCE + bytes(12))


@given(st.binary(max_size=300))
def test_fuzz_decoders_raise_only_protocol_errors(data: bytes) -> None:
    decoders = [v[0] for v in VECTORS] + [decode_command]
    for decode in decoders:
        try:
            decode(data)
        except MySQLProtocolError:
            pass
    decoder = FrameDecoder(max_payload=1 << 16)
    decoder.feed(data)
    try:
        while decoder.next_packet() is not None:
            pass
    except MySQLProtocolError:
        pass
