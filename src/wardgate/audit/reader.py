"""Reading the journal forward from a sequence number, across segments.

Used by the sink pumps (which resume from a persisted cursor), `audit tail`,
`audit export`, `audit verify -c` and the admin API. Only complete lines are
consumed, so a reader racing the writer never sees half a record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wardgate.audit.chain import Columns
from wardgate.audit.journal import segments

READ_CHUNK = 1024 * 1024


class Entry:
    """One record: its seq, its line as written and, parsed from the line when first
    asked for, `record` (unless the writer handed it over); `columns` likewise."""

    __slots__ = ("_columns", "_record", "line", "location", "seq")

    def __init__(
        self,
        seq: int,
        line: bytes,  # canonical JSON, newline-terminated
        record: dict[str, Any] | None,
        location: str,  # "journal-….log:LINE", for error messages
        columns: Columns | None = None,
    ) -> None:
        self.seq = seq
        self.line = line
        self.location = location
        self._record = record
        self._columns = columns

    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            try:
                parsed = json.loads(self.line)
            except ValueError:
                parsed = None
            self._record = parsed if isinstance(parsed, dict) else {}
        return self._record

    @property
    def columns(self) -> Columns:
        if self._columns is None:
            self._columns = Columns.of(self.record)
        return self._columns

    def __repr__(self) -> str:
        return f"Entry(seq={self.seq}, location={self.location!r}, line={self.line!r})"


class JournalReader:
    def __init__(self, directory: Path, after: int = 0) -> None:
        self.directory = directory
        self.after = after
        self._path: Path | None = None
        self._offset = 0
        self._line_no = 0
        self._skip_to_start()

    def _skip_to_start(self) -> None:
        candidates = [path for first, path in segments(self.directory) if first <= self.after + 1]
        every = segments(self.directory)
        if candidates:
            self._path = candidates[-1]
        elif every:
            self._path = every[0][1]

    def _next_segment(self) -> Path | None:
        later = [path for _, path in segments(self.directory) if self._path and path > self._path]
        return later[0] if later else None

    def _read_lines(self, limit: int) -> list[tuple[bytes, int]]:
        assert self._path is not None
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read(READ_CHUNK)
        except FileNotFoundError:
            return []
        lines: list[tuple[bytes, int]] = []
        start = 0
        while len(lines) < limit:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._line_no += 1
            lines.append((data[start : end + 1], self._line_no))
            start = end + 1
        self._offset += start
        return lines

    def read(self, limit: int = 500) -> list[Entry]:
        """Up to `limit` records after the last one returned (or after `after`)."""
        if self._path is None:  # the journal had no segment yet when we started
            self._skip_to_start()
        entries: list[Entry] = []
        while self._path is not None and len(entries) < limit:
            following = self._next_segment()  # looked up *before* reading to the end
            lines = self._read_lines(limit - len(entries))
            entries += self._parse(lines)
            if lines:
                continue
            if following is None:
                break
            self._path, self._offset, self._line_no = following, 0, 0
        return entries

    def _parse(self, lines: list[tuple[bytes, int]]) -> list[Entry]:
        entries = []
        assert self._path is not None
        for line, number in lines:
            entry = parse_entry(line, f"{self._path.name}:{number}")
            if entry.seq > self.after:
                entries.append(entry)
                self.after = max(self.after, entry.seq)
        return entries

    def __iter__(self) -> Iterator[Entry]:
        while batch := self.read():
            yield from batch


def parse_entry(line: bytes, location: str) -> Entry:
    """A journal line as an Entry; an unparseable line keeps seq -1 (verify reports it)."""
    try:
        record = json.loads(line)
        seq = int(record["seq"]) if isinstance(record, dict) else -1
    except (ValueError, KeyError, TypeError):
        return Entry(-1, line, {}, location)
    return Entry(seq, line, record, location)
