"""`audit verify`: walk a chain of records and name the first one that does not fit.

Checks, record by record: the line is JSON; ``hash`` is the hash of the rest
(SHA-256, or HMAC-SHA-256 when ``alg`` says so — which needs the key); ``prev`` is
the previous record's ``hash``; ``seq`` is one more than the previous. A chain that
starts after seq 1 (rotated JSONL files, a pruned journal) is accepted from its
first record and the report says so. OCSF lines carry the original record under
``unmapped.wardgate`` and are checked through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wardgate.audit.chain import GENESIS, record_hash
from wardgate.audit.journal import segments


@dataclass(slots=True)
class Problem:
    location: str
    seq: int | None
    reason: str

    def __str__(self) -> str:
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        return f"{self.location}{seq}: {self.reason}"


@dataclass(slots=True)
class Report:
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head: str = GENESIS
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def journal_lines(directory: Path) -> Iterator[tuple[str, bytes]]:
    for _, path in segments(directory):
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                yield f"{path}:{number}", line


def file_lines(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield f"{path}:{number}", line


def unwrap(record: Any) -> Any:
    """The wardgate record inside an OCSF event, or the record itself."""
    if isinstance(record, dict) and "class_uid" in record:
        return record.get("unmapped", {}).get("wardgate")
    return record


class Verifier:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key
        self.report = Report()

    def feed(self, location: str, line: bytes) -> bool:
        """Check one line; False once a problem was found (the report names it)."""
        if self.report.problem is not None:
            return False
        try:
            record = unwrap(json.loads(line))
        except ValueError:
            return self._fail(location, None, "not valid JSON")
        if not isinstance(record, dict):
            return self._fail(location, None, "not an audit record")
        reason = self._check(record)
        if reason:
            return self._fail(location, _seq(record), reason)
        self._accept(record)
        return True

    def _check(self, record: dict[str, Any]) -> str:
        seq, previous = _seq(record), self.report.last_seq
        if seq is None or not isinstance(record.get("hash"), str):
            return "missing seq or hash"
        if record.get("alg") == "hmac-sha256" and not self._key:
            return "record is HMAC-keyed; give the key (audit.hmac_key)"
        key = self._key if record.get("alg") == "hmac-sha256" else None
        if record_hash(record, key) != record["hash"]:
            return "hash does not match the record's content (edited record or wrong key)"
        if previous is None:
            return self._check_first(record, seq)
        if seq != previous + 1:
            return f"sequence jumps from {previous} to {seq} (records missing or reordered)"
        if record.get("prev") != self.report.head:
            return "prev does not match the previous record's hash (chain broken)"
        return ""

    def _check_first(self, record: dict[str, Any], seq: int) -> str:
        if seq == 1 and record.get("prev") != GENESIS:
            return "first record does not start from the genesis hash"
        if seq != 1:
            self.report.notes.append(f"chain starts at seq {seq}; earlier records not present")
        return ""

    def _accept(self, record: dict[str, Any]) -> None:
        report = self.report
        seq = _seq(record)
        report.records += 1
        report.first_seq = seq if report.first_seq is None else report.first_seq
        report.last_seq = seq
        report.head = str(record["hash"])

    def _fail(self, location: str, seq: int | None, reason: str) -> bool:
        self.report.problem = Problem(location, seq, reason)
        return False


def _seq(record: dict[str, Any]) -> int | None:
    value = record.get("seq")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def verify_lines(lines: Iterable[tuple[str, bytes]], key: bytes | None = None) -> Report:
    verifier = Verifier(key)
    for location, line in lines:
        if not verifier.feed(location, line):
            break
    return verifier.report
