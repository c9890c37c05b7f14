"""Child processes a benchmark starts, and the guarantee that it stops them.

Every child runs in its own session (process group), so a Ctrl-C in the terminal
reaches only the benchmark itself; the benchmark then stops its children in reverse
start order: SIGTERM to the group, a grace period, then SIGKILL; then it runs the
cleanups registered with `on_exit`. `Processes` is a context manager;
`signals_raise()` turns SIGTERM and SIGHUP into `KeyboardInterrupt` so ``finally``
blocks run for those too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for programs that cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[Any]) -> None:
    """Wait until ``host:port`` accepts connections; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with status {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block SIGINT, SIGTERM and SIGHUP raise `KeyboardInterrupt`.

    SIGINT is set explicitly because a shell starts background jobs with it ignored.
    """
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Processes:
    """Starts children and stops all of them on exit, newest first."""

    def __init__(self, grace: float = 10.0) -> None:
        self._grace = grace
        self._children: list[subprocess.Popen[Any]] = []
        self._cleanups: list[Callable[[], object]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
    ) -> subprocess.Popen[Any]:
        proc = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        self._children.append(proc)
        return proc

    def on_exit(self, cleanup: Callable[[], object]) -> None:
        """Run `cleanup` after every child has been stopped (temporary files, say)."""
        self._cleanups.append(cleanup)

    def stop(self, proc: subprocess.Popen[Any]) -> None:
        """SIGTERM the child's process group, wait, then SIGKILL what is left."""
        if proc in self._children:
            self._children.remove(proc)
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=self._grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers the leader left behind

    def stop_all(self) -> None:
        """Stop every child; a second Ctrl-C while doing so does not cut it short."""
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for proc in reversed(list(self._children)):
                with contextlib.suppress(Exception):
                    self.stop(proc)
            while self._cleanups:
                with contextlib.suppress(Exception):
                    self._cleanups.pop()()
        finally:
            signal.signal(signal.SIGINT, previous)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
