"""What the back-pressure tests share: the result a stalled client asks for, and RSS."""

from __future__ import annotations

from pathlib import Path

ROWS = 200_000
ROW_BYTES = 1_000  # ≈ 200 MB of result in all
MiB = 1 << 20
#: How much wardgate may grow while its client does not read (the server must hold it).
MAX_GROWTH = 48 * MiB


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")
