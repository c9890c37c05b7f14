"""``--profile py-spy|cprofile``: where wardgate's time goes under the benchmark's load.

- ``py-spy`` (``pip install py-spy``) attaches to the running gateway for each
  wardgate round only (``--nonblocking``, so the gateway is not paused to be sampled)
  and writes collapsed stacks; we fold them into inclusive/self tables. It samples
  wall time: see `benchmarks.common.pyspy` for how to read I/O leaves.
- ``cprofile`` starts the gateway under ``python -m cProfile``; the stats are written
  when the gateway exits at the end of the run, and we print the top functions by own
  time. Deterministic and complete, but it roughly doubles the cost of every Python
  call, so small functions look more expensive than they are.

Either way the wardgate numbers of a profiled run are not comparable with an
unprofiled one; the result JSON records which profiler ran.
"""

from __future__ import annotations

import contextlib
import io
import pstats
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from benchmarks.common import pyspy
from benchmarks.common.processes import Processes
from benchmarks.common.wardgate import wardgate_python

HOT_PATH = ("relay.py", "framing.py", "session.py", "tracker.py", "frontend.py", "backend.py")


def find_pyspy() -> str:
    for bindir in (Path(sys.executable).parent, Path(wardgate_python()).parent):
        if (bindir / "py-spy").exists():
            return str(bindir / "py-spy")
    found = shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return found


class Profiler:
    def __init__(self, kind: str, out_dir: Path, stem: str) -> None:
        self.kind = kind
        self._out = out_dir
        self._stem = stem
        self._raw_parts: list[Path] = []
        self._failures: list[str] = []  # rounds py-spy recorded nothing for, and why
        self._pyspy = find_pyspy() if kind == "py-spy" else ""

    @property
    def cprofile_path(self) -> Path:
        return self._out / f"{self._stem}.cprofile.prof"

    def python_args(self) -> tuple[str, ...]:
        if self.kind != "cprofile":
            return ()
        self._out.mkdir(parents=True, exist_ok=True)
        return ("-m", "cProfile", "-o", str(self.cprofile_path))

    @contextlib.contextmanager
    def round(self, procs: Processes, pid: int, seconds: int) -> Iterator[None]:
        """Sample the gateway (py-spy) for the length of one round."""
        if self.kind != "py-spy":
            yield
            return
        part = self._out / f"{self._stem}.pyspy.part{len(self._raw_parts)}"
        argv = [self._pyspy, "record", "--pid", str(pid), "--duration", str(seconds)]
        argv += ["--rate", "250", "--nonblocking", "--format", "raw", "-o", str(part)]
        errors = part.with_suffix(".err")
        with errors.open("w") as stderr:
            proc = procs.start(argv, stderr=stderr)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                proc.wait(timeout=seconds + 30)
            procs.stop(proc)
            if part.exists() and part.stat().st_size:
                self._raw_parts.append(part)
            else:  # say why instead of reporting "0 samples" as if it were a profile
                said = errors.read_text(errors="replace") if errors.exists() else ""
                said = said.split("Stack backtrace:")[0].strip()  # its Rust backtrace: noise
                self._failures.append(f"py-spy exited {proc.returncode}: {said or 'no output'}")
            errors.unlink(missing_ok=True)

    def report(self) -> list[str]:
        """After the gateway has exited: write the summary file, return its lines."""
        if self.kind == "py-spy":
            lines = self._pyspy_report()
        elif self.kind == "cprofile" and self.cprofile_path.exists():
            lines = self._cprofile_report()
        else:
            return []
        summary = self._out / f"{self._stem}.{self.kind}.txt"
        summary.write_text("\n".join(lines) + "\n")
        return [*lines, f"profile summary written to {summary}"]

    def _pyspy_report(self) -> list[str]:
        raw = self._out / f"{self._stem}.pyspy.raw"
        raw.write_text("".join(p.read_text() for p in self._raw_parts))
        for part in self._raw_parts:
            part.unlink(missing_ok=True)
        folded = pyspy.fold(raw)
        lines = [f"py-spy: {folded.total} samples over the wardgate rounds (raw stacks: {raw})"]
        lines += [f"  a round without samples: {failure}" for failure in self._failures]
        lines += ["", "inclusive (on the stack):", *folded.table("inclusive", 40)]
        lines += ["", "self (leaf):", *folded.table("leaf", 30)]
        return lines

    def _cprofile_report(self) -> list[str]:
        text = io.StringIO()
        stats = pstats.Stats(str(self.cprofile_path), stream=text)
        stats.strip_dirs().sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats("|".join(HOT_PATH), 30)
        return [f"cProfile stats: {self.cprofile_path}", *text.getvalue().splitlines()]
