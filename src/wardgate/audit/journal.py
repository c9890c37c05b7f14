"""The audit journal: append-only segment files, the durability point of the audit.

Theory of operation (DESIGN.md, "Evidence"). Every sealed record is handed to the
kernel with `os.write` on an ``O_APPEND`` descriptor *before* the caller releases the
command's result, so a killed process loses nothing the kernel has. `sync` (fsync) is
batched by `AuditLog` — every 50 ms by default — which bounds what a machine crash
can lose. Records never sit in a user-space buffer.

Files are ``journal-<first seq, 12 digits>.log`` under one directory, one canonical
JSON record per line; a new segment starts when the current one passes
`segment_bytes`. On start, `recover` finds the last complete record (the chain
continues from it) and cuts off a torn last line — the remnant of a write a crash
interrupted — so new records never follow garbage (the cut bytes are kept beside
the segment as ``….log.torn`` and counted in the next ``audit_start`` record).

The write and sync primitives are injected so tests can make the disk fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wardgate.audit.chain import ChainHead

_SEGMENT = re.compile(r"^journal-(\d{12})\.log$")
TAIL_BLOCK = 4 * 1024 * 1024  # records are capped far below this (statement truncation)
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024

Writer = Callable[[int, bytes | memoryview], int]
Syncer = Callable[[int], None]


def segment_name(first_seq: int) -> str:
    return f"journal-{first_seq:012d}.log"


def segments(directory: Path) -> list[tuple[int, Path]]:
    """The journal's segment files, oldest first, with the first seq each holds."""
    found = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        match = _SEGMENT.match(name)
        if match:
            found.append((int(match.group(1)), directory / name))
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Recovery:
    head: ChainHead
    truncated_bytes: int = 0
    segment: Path | None = None


def _last_record(data: bytes) -> tuple[ChainHead | None, int]:
    """The last parseable record in `data` and the offset just after its newline."""
    end = data.rfind(b"\n")
    while end >= 0:
        start = data.rfind(b"\n", 0, end) + 1
        try:
            record = json.loads(data[start:end])
            return ChainHead(int(record["seq"]), str(record["hash"])), end + 1
        except (ValueError, KeyError, TypeError):
            end = start - 1
    return None, 0


def _read_tail(path: Path) -> tuple[bytes, int]:
    size = path.stat().st_size
    start = max(0, size - TAIL_BLOCK)
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(), start


def _set_aside(path: Path, torn: bytes) -> None:
    """Keep cut-off bytes for the investigator rather than destroying them."""
    with path.with_name(path.name + ".torn").open("ab") as handle:
        handle.write(torn)


def recover(directory: Path) -> Recovery:
    """The chain head from the newest segment holding a record; cuts a torn tail."""
    for _, path in reversed(segments(directory)):
        data, base = _read_tail(path)
        head, good_end = _last_record(data)
        if head is None and base > 0:
            data, base = path.read_bytes(), 0
            head, good_end = _last_record(data)
        cut = len(data) - good_end
        if cut:
            _set_aside(path, data[good_end:])
            os.truncate(path, base + good_end)
        if head is not None:
            return Recovery(head, cut, path)
    return Recovery(ChainHead())


class JournalError(OSError):
    """The journal could not take a record."""


class Journal:
    def __init__(
        self,
        directory: Path,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        write: Writer = os.write,
        sync: Syncer = os.fsync,
    ) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._write = write
        self._sync = sync
        self._fd: int | None = None
        self._size = 0
        self._sync_lock = threading.Lock()
        self._lock_fd: int | None = None
        self.dirty = False

    def recover(self) -> Recovery:
        """Lock the directory (one writer per journal), find the head, open for append."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock()
        recovery = recover(self.directory)
        if recovery.segment is not None:
            self._open(recovery.segment)
        return recovery

    def _lock(self) -> None:
        if self._lock_fd is not None:
            return
        fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalError(
                0,
                f"audit journal {self.directory} is in use by another wardgate process"
                " (give each instance its own audit.journal)",
            ) from None
        self._lock_fd = fd

    def _open(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _rotate(self, seq: int) -> None:
        """Start the segment whose first record is `seq` (closing the full one)."""
        if self._fd is not None:
            self.close()
        self._open(self.directory / segment_name(seq))

    def append(self, seq: int, line: bytes) -> None:
        """Hand one record line to the kernel; raises JournalError (nothing half-kept)."""
        try:
            if self._fd is None or self._size >= self._segment_bytes:
                self._rotate(seq)
            assert self._fd is not None
            written = self._write(self._fd, line)
            if written < len(line):  # a short write (signal, full pipe): the rest, in order
                view = memoryview(line)[written:]
                while view:
                    view = view[self._write(self._fd, view) :]
        except OSError as exc:
            self._abandon()
            raise JournalError(exc.errno, f"audit journal write failed: {exc}") from exc
        self._size += len(line)
        self.dirty = True

    def _abandon(self) -> None:
        """After a failed write: cut any partial line and reopen on the next append."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, self._size)
        except OSError:
            pass
        self._close_fd(fd)

    def sync(self) -> None:
        """fsync the current segment (safe to call from a worker thread)."""
        with self._sync_lock:
            self.dirty = False
            if self._fd is not None:
                try:
                    self._sync(self._fd)
                except OSError as exc:
                    self.dirty = True
                    raise JournalError(exc.errno, f"audit journal fsync failed: {exc}") from exc

    def _close_fd(self, fd: int) -> None:
        with self._sync_lock:
            try:
                self._sync(fd)
            except OSError:
                pass
            os.close(fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            self._close_fd(fd)
        self.dirty = False
        lock, self._lock_fd = self._lock_fd, None
        if lock is not None:
            os.close(lock)
