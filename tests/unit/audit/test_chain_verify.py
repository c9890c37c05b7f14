"""The hash chain and `verify`: every one-byte edit, deletion or reordering is found."""

from __future__ import annotations

import json

import pytest

from wardgate.audit.chain import GENESIS, Chain, canonical, record_hash
from wardgate.audit.verify import verify_lines


def chain_lines(count: int, key: bytes | None = None) -> list[bytes]:
    chain = Chain(key)
    lines = []
    for index in range(count):
        sealed = chain.seal({"type": "command", "statement": f"select ? -- {index}", "rows": index})
        chain.advance(sealed)
        lines.append(sealed.line)
    return lines


def located(lines: list[bytes]) -> list[tuple[str, bytes]]:
    return [(f"f:{n}", line) for n, line in enumerate(lines, 1)]


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical({"b": 1, "a": ["é", None]}) == '{"a":["é",null],"b":1}'.encode()


def test_first_record_starts_from_genesis_and_links() -> None:
    first, second = (json.loads(line) for line in chain_lines(2))
    assert first["seq"] == 1
    assert first["prev"] == GENESIS
    assert second["prev"] == first["hash"]
    assert record_hash(second, None) == second["hash"]


def test_intact_chain_verifies() -> None:
    report = verify_lines(located(chain_lines(5)))
    assert report.ok
    assert report.records == 5
    assert report.last_seq == 5


def test_every_single_byte_edit_is_detected() -> None:
    lines = chain_lines(3)
    target = lines[1]
    for position in range(len(target) - 1):  # the newline itself is not content
        for replacement in (b"x", b"0"):
            if target[position : position + 1] == replacement:
                continue
            edited = target[:position] + replacement + target[position + 1 :]
            report = verify_lines(located([lines[0], edited, lines[2]]))
            assert not report.ok, f"edit at byte {position} not detected"
            assert report.problem is not None
            assert report.problem.location in ("f:2", "f:3")


def test_deleted_record_is_named() -> None:
    lines = chain_lines(4)
    report = verify_lines(located([lines[0], lines[1], lines[3]]))
    assert report.problem is not None
    assert report.problem.location == "f:3"
    assert "sequence jumps" in report.problem.reason


def test_recomputed_hash_without_relinking_breaks_the_next_record() -> None:
    lines = chain_lines(3)
    record = json.loads(lines[1])
    record["rows"] = 999
    record["hash"] = record_hash(record, None)
    report = verify_lines(located([lines[0], canonical(record) + b"\n", lines[2]]))
    assert report.problem is not None
    assert report.problem.location == "f:3"
    assert "prev" in report.problem.reason


def test_hmac_chain_needs_the_key() -> None:
    lines = chain_lines(3, key=b"k")
    assert verify_lines(located(lines), key=b"k").ok
    wrong = verify_lines(located(lines), key=b"other")
    assert wrong.problem is not None
    assert wrong.problem.location == "f:1"
    missing = verify_lines(located(lines))
    assert missing.problem is not None
    assert "HMAC" in missing.problem.reason


def test_chain_may_start_later_with_a_note() -> None:
    report = verify_lines(located(chain_lines(5)[2:]))
    assert report.ok
    assert report.first_seq == 3
    assert report.notes == ["chain starts at seq 3; earlier records not present"]


@pytest.mark.parametrize("garbage", [b"not json\n", b"[1, 2]\n", b'{"seq": 1}\n'])
def test_garbage_line_is_a_problem(garbage: bytes) -> None:
    report = verify_lines(located([garbage]))
    assert report.problem is not None
    assert report.problem.location == "f:1"
