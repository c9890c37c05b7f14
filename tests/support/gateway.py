"""Run a real `wardgate serve` process for tests.

`Gateway` writes a YAML configuration into a temporary directory, starts
``python -m wardgate serve -c FILE --ready-file PATH`` and waits for the ready
file, which serve writes once every listener is bound::

    {"admin": "127.0.0.1:PORT", "resources": {"NAME": "127.0.0.1:PORT"}}

Listeners use port 0, so gateways never collide. stderr (JSON log lines, one
object per line with an ``"event"`` key) goes to a file the test can read with
`stderr_text()` / `events()`.

`pg_resource()`, `make_token()` and `gateway_config()` build the configuration
dictionaries the contract in DESIGN.md describes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from .certs import Certs


@dataclass(frozen=True)
class Token:
    """A static token: the secret a client presents and the config entry holding its hash."""

    name: str
    groups: tuple[str, ...]
    secret: str

    @property
    def entry(self) -> dict[str, Any]:
        digest = hashlib.sha256(self.secret.encode()).hexdigest()
        return {"name": self.name, "groups": list(self.groups), "sha256": digest}


def make_token(name: str = "agent-1", groups: Sequence[str] = ("agents",)) -> Token:
    return Token(name, tuple(groups), "wgt_" + secrets.token_urlsafe(24))


def pg_resource(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5432,
    database: str = "postgres",
    user: str = "postgres",
    password: str | None = "",
    upstream_tls: str = "disable",
    ca_file: Path | None = None,
    databases: Sequence[str] | None = None,
    tls: Certs | None = None,
    tls_required: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One `protocol: postgres` resource listening on 127.0.0.1:0."""
    upstream: dict[str, Any] = {"host": host, "port": port, "database": database}
    upstream["tls"] = upstream_tls
    if ca_file is not None:
        upstream["ca_file"] = str(ca_file)
    static: dict[str, Any] = {"user": user}
    if password is not None:
        static["password"] = password
    resource: dict[str, Any] = {
        "name": name,
        "protocol": "postgres",
        "listen": "127.0.0.1:0",
        "upstream": upstream,
        "credentials": {"static": static},
    }
    if databases is not None:
        resource["databases"] = list(databases)
    if tls is not None:
        resource["tls"] = {"cert": str(tls.cert), "key": str(tls.key), "required": tls_required}
    resource.update(extra)
    return resource


def gateway_config(
    resources: Iterable[Mapping[str, Any]],
    tokens: Iterable[Token],
    state_dir: Path,
    *,
    limits: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "admin": {"listen": "127.0.0.1:0"},
        "state": {"url": f"sqlite:///{state_dir / 'wardgate.db'}"},
        "identity": {"tokens": [token.entry for token in tokens]},
        "resources": [dict(resource) for resource in resources],
    }
    if limits is not None:
        config["limits"] = dict(limits)
    config.update(extra)
    # Without a policy wardgate denies everything; protocol tests want pass-through.
    config.setdefault("policy", {"default": "allow"})
    # Every line, routine per-command lines (debug with the audit journal on) included,
    # written on the loop's next turn rather than batched for `flush_interval` (10 ms):
    # tests read the log right after the command. The batching itself is tested in
    # tests/integration/postgres/test_log_batching.py.
    config.setdefault("logging", {"level": "debug", "flush_interval": 0})
    return config


class GatewayError(RuntimeError):
    """The gateway did not start; the message carries its stderr."""


class Gateway:
    """One `wardgate serve` subprocess. Use `start()`/`stop()` or a ``with`` block."""

    def __init__(
        self,
        resources: Iterable[Mapping[str, Any]],
        tokens: Iterable[Token] = (),
        *,
        limits: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        extra_config: Mapping[str, Any] | None = None,
        workdir: Path | None = None,
    ) -> None:
        self.tokens = list(tokens)
        self.dir = workdir or Path(tempfile.mkdtemp(prefix="wardgate-gw-"))
        self._own_dir = workdir is None
        self.config = gateway_config(
            resources, self.tokens, self.dir, limits=limits, **dict(extra_config or {})
        )
        self.config_path = self.dir / "wardgate.yaml"
        self.ready_path = self.dir / "ready.json"
        self.stderr_path = self.dir / "stderr.log"
        self.env = dict(os.environ, **dict(env or {}))
        self.ready: dict[str, Any] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> Gateway:
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.ready_path.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "wardgate", "serve", "-c", str(self.config_path)]
        argv += ["--ready-file", str(self.ready_path)]
        with open(self.stderr_path, "ab") as stderr:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, env=self.env
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise GatewayError(
                    f"wardgate serve exited with {self.proc.returncode}:\n{self.stderr_text()}"
                )
            if self._read_ready():
                return
            time.sleep(0.05)
        raise GatewayError(f"wardgate serve not ready after {timeout}s:\n{self.stderr_text()}")

    def _read_ready(self) -> bool:
        try:
            ready = json.loads(self.ready_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return False
        if not isinstance(ready, dict) or "admin" not in ready:
            return False
        self.ready = ready
        return True

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is not None:
            self.returncode = _terminate(proc, timeout)
        return self.returncode

    def terminate(self) -> None:
        """Send SIGTERM and return at once (for graceful-shutdown tests); `wait()` after."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.returncode = self.proc.wait(timeout)
        self.proc = None
        return self.returncode

    def reload(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGHUP)

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- addresses ---------------------------------------------------------------

    def address(self, resource: str) -> tuple[str, int]:
        host, _, port = self.ready["resources"][resource].rpartition(":")
        return host, int(port)

    def port(self, resource: str) -> int:
        return self.address(resource)[1]

    @property
    def admin_url(self) -> str:
        return f"http://{self.ready['admin']}"

    @property
    def token(self) -> str:
        """The first configured token's secret."""
        return self.tokens[0].secret

    def dsn(
        self,
        resource: str,
        *,
        token: str | None = None,
        user: str = "agent",
        dbname: str | None = None,
        **params: Any,
    ) -> str:
        """A libpq URL for a postgres resource, the token as the password."""
        host, port = self.address(resource)
        secret = self.token if token is None else token
        path = "/" + quote(dbname, safe="") if dbname else ""
        url = f"postgresql://{quote(user, safe='')}:{quote(secret, safe='')}@{host}:{port}{path}"
        if params:
            url += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
        return url

    # -- logs ------------------------------------------------------------------

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every JSON log line (optionally only those with ``"event": event``)."""
        found = []
        for line in self.stderr_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and (event is None or record.get("event") == event):
                found.append(record)
        return found

    def wait_for_event(
        self, predicate: Any, timeout: float = 5.0, start: int = 0
    ) -> dict[str, Any]:
        """Poll the log until a record (from index `start`) satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.events()[start:]:
                if predicate(record):
                    return record
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching log event in:\n{self.stderr_text()[-4000:]}")
            time.sleep(0.05)


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
