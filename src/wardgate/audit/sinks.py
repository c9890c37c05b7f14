"""Audit sinks fed by the pumps: the state store and JSONL files (rotated).

A file sink writes either the chained records as they are (``format: jsonl``, which
`audit verify --jsonl` checks) or OCSF events that carry them (``format: ocsf``).
Rotation is by size: ``audit.jsonl`` → ``audit.jsonl.1`` → … up to `backups` files.
File I/O runs in a worker thread so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wardgate.audit import schema
from wardgate.audit.ocsf import to_ocsf
from wardgate.audit.reader import Entry
from wardgate.audit.verify import unwrap
from wardgate.store import Store

TAIL_BYTES = 1024 * 1024


def render(entry: Entry, fmt: str) -> bytes:
    """One output line for an entry in `fmt` (``jsonl`` or ``ocsf``)."""
    if fmt == "ocsf":
        return json.dumps(to_ocsf(entry.record), separators=(",", ":"), ensure_ascii=False).encode()
    return entry.line if entry.line.endswith(b"\n") else entry.line + b"\n"


class StoreSink:
    def __init__(self, store_factory: Callable[[], Any], name: str = "store") -> None:
        self.name = name
        self._factory = store_factory
        self._store: Store | None = None

    async def open(self) -> None:
        if self._store is None:
            self._store = await self._factory()

    async def write(self, entries: Sequence[Entry]) -> None:
        assert self._store is not None
        await schema.insert(self._store, entries)

    async def close(self) -> None:
        self._store = None  # the runtime owns the store and closes it


class RotatingFile:
    """Appends lines to `path`, rotating by size; blocking (call from a thread)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self._max = max_bytes
        self._backups = backups

    def append(self, lines: Sequence[bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
        if self._max and self._size() and self._size() + len(data) > self._max:
            self.rotate()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def rotate(self) -> None:
        for index in range(self._backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
        if self._backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink()


def last_seq(path: Path) -> int:
    """The seq of the last complete record in a JSONL/OCSF file (0 if none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - TAIL_BYTES))
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return 0
    for line in reversed(lines):
        try:
            record = unwrap(json.loads(line))
            return int(record["seq"])
        except (ValueError, KeyError, TypeError):
            continue
    return 0


class FileSink:
    """Delivery is exactly-once per file: after a crash the pump re-sends from its
    cursor, and records the file already ends with are skipped."""

    def __init__(self, path: Path, fmt: str = "jsonl", max_bytes: int = 0, backups: int = 5):
        self.name = f"file:{path.name}"
        self.format = fmt
        self._file = RotatingFile(path, max_bytes, backups)
        self._last = -1

    async def open(self) -> None:
        self._last = await asyncio.to_thread(last_seq, self._file.path)

    async def write(self, entries: Sequence[Entry]) -> None:
        fresh = [entry for entry in entries if entry.seq > max(self._last, 0)]
        if fresh:  # rendered in the worker thread too (OCSF parses each line)
            await asyncio.to_thread(self._append, fresh)
            self._last = fresh[-1].seq

    def _append(self, entries: Sequence[Entry]) -> None:
        self._file.append([render(entry, self.format) for entry in entries])

    async def close(self) -> None:
        return None
