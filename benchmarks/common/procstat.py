"""What a process and the machine spent: CPU seconds, RSS, busy share (Linux /proc).

CPU time per transaction is the number that survives a noisy machine: TPS on a
shared 2-core box moves with whatever else runs, but the CPU a proxy burns for each
transaction it relays does not. `CpuWindow` measures a process and the whole machine
over one round; `RssSampler` tracks a process's resident set in the background.
"""

from __future__ import annotations

import os
import platform
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    """Resident set size now."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE


def peak_rss_bytes(pid: int) -> int:
    """High-water mark of the resident set (VmHWM) since the process started."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot; steal counts as busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return total - idle, total


@dataclass
class CpuWindow:
    """CPU used by some processes and by the machine between `start` and `stop`."""

    pids: dict[str, int]

    def start(self) -> CpuWindow:
        self._proc0 = {name: cpu_split(pid) for name, pid in self.pids.items()}
        self._machine0 = machine_ticks()
        return self

    def stop(self) -> dict[str, Any]:
        busy1, total1 = machine_ticks()
        busy0, total0 = self._machine0
        span = max(total1 - total0, 1)
        result: dict[str, Any] = {
            "machine_busy_pct": round(100.0 * (busy1 - busy0) / span, 1),
            "machine_cpu_seconds": round((busy1 - busy0) / _TICKS, 3),
        }
        for name, pid in self.pids.items():
            user0, sys0 = self._proc0[name]
            user1, sys1 = cpu_split(pid)
            result[f"{name}_user_seconds"] = round(user1 - user0, 3)
            result[f"{name}_system_seconds"] = round(sys1 - sys0, 3)
        return result


class RssSampler:
    """Samples a process's RSS every `interval` seconds in a daemon thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self._pid = pid
        self._interval = interval
        self._stop = threading.Event()
        self.samples: list[int] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            try:
                self.samples.append(rss_bytes(self._pid))
            except OSError:
                return
            if self._stop.wait(self._interval):
                return

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)


def machine_description() -> dict[str, Any]:
    """CPU model and count, memory, kernel, load: enough to compare two result files."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def background_busy_pct(seconds: float = 2.0) -> float:
    """Share of all CPUs busy over `seconds` before we start anything (others' load)."""
    busy0, total0 = machine_ticks()
    threading.Event().wait(seconds)
    busy1, total1 = machine_ticks()
    return round(100.0 * (busy1 - busy0) / max(total1 - total0, 1), 1)
