"""Fold py-spy's ``--format raw`` output into self and inclusive tables.

Each raw line is ``frame;frame;…;frame COUNT`` with frames like
``func (path/to/file.py:LINE)``. `fold` strips the directory and line so the same
function on different lines counts once, then reports, per function, the share of
samples where it is on the stack (inclusive) and where it is the leaf (self).

py-spy samples wall-clock time of the thread, not CPU: a leaf like
``StreamWriter.write`` includes time the kernel spends delivering the data on
loopback and any time the process sits preempted right after waking its peer. On a
saturated machine, read the self column of pure-Python functions, not of I/O calls.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?):\d+\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    return f"{match['func']} ({match['file'].rsplit('/', 1)[-1]})"


@dataclass
class Folded:
    total: int
    inclusive: Counter[str]
    leaf: Counter[str]

    def table(self, which: str = "inclusive", top: int = 30, contains: str = "") -> list[str]:
        counts = self.inclusive if which == "inclusive" else self.leaf
        rows = [(n, f) for f, n in counts.most_common() if contains in f][:top]
        return [f"{100.0 * n / max(self.total, 1):5.1f}%  {f}" for n, f in rows]


def fold(path: Path) -> Folded:
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        for name in set(frames):
            inclusive[name] += n
        leaf[frames[-1]] += n
    return Folded(total, inclusive, leaf)
