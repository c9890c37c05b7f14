"""Strategies and the plugins' value rewriting: text and binary stay valid per type."""

from __future__ import annotations

import json
import struct
import uuid

from wardgate.masking.masker import CommandMasker
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.strategies import Strategies, partial
from wardgate.seam import ColumnMask, MaskingPlan
from wardgate_mysql.codec.constants import ColumnType
from wardgate_mysql.codec.responses import ErrPacket
from wardgate_mysql.codec.resultset import decode_binary_row, encode_binary_row, encode_text_row
from wardgate_mysql.masking import RowMasker as MySQLRows
from wardgate_mysql.masking import scrub_err
from wardgate_postgres.codec import FieldDescription, datarow_values, encode_datarow
from wardgate_postgres.masking import RowMasker, column_fns, mask_fn, scan_fn

KEY = b"k" * 16


def masker(engine: MaskingEngine) -> CommandMasker:
    return engine.masker()


def test_strategies() -> None:
    strategies = Strategies(KEY)
    assert strategies.text("redact", "alice@example.com", 4) == "****"
    assert strategies.text("partial", "123-45-6789", 4) == "*******6789"
    assert partial("abc", 4) == "***"  # too short to show a tail
    assert strategies.text("null", "x", 4) is None
    first = strategies.text("hash", "alice", 4)
    assert first == Strategies(KEY).text("hash", "alice", 4) != strategies.text("hash", "bob", 4)
    assert Strategies(b"other-key-123456").text("hash", "alice", 4) != first
    assert 0 <= (strategies.integer("hash", 42, 32) or -1) < 2**31
    assert strategies.integer("redact", 42, 32) is None


def test_pg_text_and_binary_values(engine: MaskingEngine) -> None:
    m = masker(engine)
    hashed = ColumnMask(0, "pii", "hash")
    text_int = mask_fn(hashed, 23, False, m)(b"42")
    binary_int = mask_fn(hashed, 23, True, m)(struct.pack("!i", 42))
    assert binary_int is not None
    assert len(binary_int) == 4
    assert int(text_int or b"") == struct.unpack("!i", binary_int)[0]  # same in both formats
    assert mask_fn(ColumnMask(0, "pii", "redact"), 23, True, m)(b"\0\0\0\1") is None
    uid = mask_fn(hashed, 2950, False, m)(b"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert uid is not None
    assert uuid.UUID(uid.decode())
    assert len(mask_fn(hashed, 2950, True, m)(bytes(16)) or b"") == 16
    jsonb = mask_fn(ColumnMask(0, "pii", "redact"), 3802, True, m)(b'\x01{"a": 1}')
    assert jsonb == b'\x01"****"'
    assert json.loads(mask_fn(ColumnMask(0, "p", "partial"), 114, False, m)(b'"x"') or b"")
    assert mask_fn(hashed, 17, False, m)(b"\\x0102").startswith(b"\\x")  # type: ignore[union-attr]
    assert m.counts["pii"] >= 6


def test_pg_detectors_in_json_and_binary_arrays(engine: MaskingEngine) -> None:
    m = masker(engine)
    scan = scan_fn(3802, True, m)
    assert scan is not None
    assert scan(b'\x01{"c": "bob@example.org"}') == b'\x01{"c": "****"}'
    clean = b'\x01{"c": 1}'
    assert scan(clean) is clean
    elements = [b"x@y.io", b"plain"]
    body = struct.pack("!iiI", 1, 0, 25) + struct.pack("!ii", 2, 1)
    body += b"".join(struct.pack("!i", len(e)) + e for e in elements)
    array_scan = scan_fn(1009, True, m)
    assert array_scan is not None
    out = array_scan(body)
    assert out is not None
    assert b"****" in out
    assert b"plain" in out
    assert b"x@y.io" not in out


def test_pg_row_masker_recomputes_lengths(engine: MaskingEngine) -> None:
    fields = [FieldDescription("id", type_oid=23), FieldDescription("email", type_oid=25)]
    plan = MaskingPlan((ColumnMask(1, "pii", "partial"),), True, masker(engine))
    rows = RowMasker(column_fns(plan, fields), 2)
    out = rows(encode_datarow([b"1", b"alice@example.com"]))
    assert datarow_values(memoryview(out)[5:]) == [b"1", b"*************.com"]
    assert rows(encode_datarow([b"2", None])) == encode_datarow([b"2", None])


def test_mysql_text_and_binary_rows(engine: MaskingEngine) -> None:
    types = [ColumnType.LONG, ColumnType.VAR_STRING, ColumnType.JSON, ColumnType.DATE]
    masks = (
        ColumnMask(0, "pii", "hash"),
        ColumnMask(1, "pii", "partial"),
        ColumnMask(3, "pii", "redact"),
    )
    plan = MaskingPlan(masks, True, masker(engine))
    values = [
        struct.pack("<i", 42),
        b"alice@example.com",
        b'{"k": "bob@example.org"}',
        b"\x04\xe8\x07\x02\x1d",
    ]
    binary = MySQLRows(plan, types, True)(encode_binary_row(values, types))
    decoded = decode_binary_row(binary, types)
    assert len(decoded[0] or b"") == 4
    assert decoded[1] == b"*************.com"
    assert decoded[2] == b'{"k": "****"}'
    assert decoded[3] is None
    text = MySQLRows(plan, types, False)(
        encode_text_row([b"42", b"alice@example.com", None, b"2024-02-29"])
    )
    assert str(struct.unpack("<i", decoded[0] or b"")[0]).encode() in text  # same hash both ways


def test_messages(engine: MaskingEngine) -> None:
    m = masker(engine)
    assert (
        m.message("Key (email)=(alice@example.com) already exists.")
        == "Key (email)=(****) already exists."
    )
    assert m.message('invalid input syntax for type integer: "123-45-6789"').endswith(': "****"')
    assert "****" in m.message("Failing row contains (1, secret, null).")
    err = ErrPacket(1062, "Duplicate entry 'alice@example.com' for key 'email'", "23000").encode()
    assert ErrPacket.decode(scrub_err(err, m)).message == "Duplicate entry '****' for key 'email'"
    assert m.message('relation "customers" does not exist') == 'relation "customers" does not exist'
