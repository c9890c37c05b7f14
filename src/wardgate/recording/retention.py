"""Pruning recordings by age and by the directory's total size.

`sweep` deletes finished recordings older than `max_age` seconds, then the oldest
ones until the rest fit in `max_bytes`. Open recordings are never touched. Runs at
start and hourly on the recorder's worker side (blocking file calls).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Set
from dataclasses import dataclass
from pathlib import Path

from wardgate.recording.format import SUFFIX


@dataclass(frozen=True, slots=True)
class Retention:
    directory: Path
    max_age: float | None = None  # seconds
    max_bytes: int | None = None
    clock: Callable[[], float] = time.time

    def _files(self, active: Set[Path]) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            if path in active:
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found.append((stat.st_mtime, stat.st_size, path))
        return sorted(found)

    def sweep(self, active: Set[Path] = frozenset()) -> list[Path]:
        """Delete what retention allows; returns the deleted files."""
        files = self._files(active)
        deleted: list[Path] = []
        if self.max_age is not None:
            cutoff = self.clock() - self.max_age
            deleted += [path for mtime, _, path in files if mtime < cutoff]
        if self.max_bytes is not None:
            kept = [(size, path) for _, size, path in files if path not in deleted]
            total = sum(size for size, _ in kept) + sum(
                _size(path) for path in active if path.exists()
            )
            for size, path in kept:
                if total <= self.max_bytes:
                    break
                deleted.append(path)
                total -= size
        for path in deleted:
            path.unlink(missing_ok=True)
        return deleted


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
