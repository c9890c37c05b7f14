"""A private, throwaway PostgreSQL cluster for tests.

`PgCluster` runs initdb into a temporary directory, configures the auth method
(`scram-sha-256` or `md5`) for every connection, TLS with the test certificates,
a unix socket directory and settings that trade durability for speed, then
starts `postgres` in the foreground as a child process (so `stop()` can always
find and kill it) and creates the database ``app`` and the login role
``app_user``.

PostgreSQL refuses to run as root. When the tests run as root, every server
process runs as the ``postgres`` OS user and the temporary directory is handed
to that user.

With `md5`, passwords are *stored* as MD5 (``password_encryption = md5``); a
SCRAM-stored password would make the server silently upgrade the exchange to
SCRAM and the md5 code path would go untested.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .certs import Certs
from .ports import free_port

AUTH_METHODS = ("scram-sha-256", "md5")
SERVER_USER = "postgres"
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "100",
    "max_wal_senders": "0",
    "wal_level": "minimal",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
    "lc_messages": "'C'",
}


def pg_bindir() -> Path | None:
    """Where the server binaries live: $WARDGATE_PG_BINDIR, the newest Debian dir, or PATH."""
    if env := os.environ.get("WARDGATE_PG_BINDIR"):
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _version_key(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the postgres OS user (no-op otherwise)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SERVER_USER)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class PgCluster:
    """One private PostgreSQL server. Use `start()`/`stop()` or a ``with`` block."""

    superuser = "postgres"
    app_user = "app_user"
    app_database = "app"

    def __init__(
        self,
        auth: str = "scram-sha-256",
        certs: Certs | None = None,
        *,
        superuser_password: str = "super-secret-pw",
        app_password: str = "app-secret-pw",
        bindir: Path | None = None,
        extra_settings: dict[str, str] | None = None,
    ) -> None:
        if auth not in AUTH_METHODS:
            raise ValueError(f"auth must be one of {AUTH_METHODS}, not {auth!r}")
        bindir = bindir or pg_bindir()
        if bindir is None or not (bindir / "initdb").exists():
            raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")
        self.auth = auth
        self.certs = certs
        self.bindir = bindir
        self.superuser_password = superuser_password
        self.app_password = app_password
        self.extra_settings = dict(extra_settings or {})
        self.host = "127.0.0.1"
        self.port = 0
        self.base: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- paths ---------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._base() / "sock"

    @property
    def log_path(self) -> Path:
        return self._base() / "server.log"

    def _base(self) -> Path:
        if self.base is None:
            raise RuntimeError("cluster not started")
        return self.base

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout: float = 30.0) -> PgCluster:
        self.base = Path(tempfile.mkdtemp(prefix="wardgate-pg-"))
        try:
            self.port = free_port()
            self.socket_dir.mkdir()
            self._initdb()
            self._configure()
            self._launch(timeout)
            self._create_app()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc, timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _initdb(self) -> None:
        pwfile = self._base() / "pwfile"
        pwfile.write_text(self.superuser_password + "\n")
        _give_to_server_user(self._base())
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.superuser,
                f"--pwfile={pwfile}",
                f"--auth={self.auth}",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        pwfile.unlink()

    def _configure(self) -> None:
        settings = dict(SETTINGS)
        settings["port"] = str(self.port)
        settings["unix_socket_directories"] = f"'{self.socket_dir}'"
        settings["password_encryption"] = f"'{self.auth}'"
        if self.certs is not None:
            shutil.copy(self.certs.cert, self.datadir / "server.crt")
            shutil.copy(self.certs.key, self.datadir / "server.key")
            os.chmod(self.datadir / "server.key", 0o600)
            settings.update(ssl="on", ssl_cert_file="'server.crt'", ssl_key_file="'server.key'")
        settings.update(self.extra_settings)
        lines = [f"{key} = {value}" for key, value in settings.items()]
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# wardgate tests\n" + "\n".join(lines) + "\n")
        hba = [
            f"local all all {self.auth}",
            f"host all all 127.0.0.1/32 {self.auth}",
            f"host all all ::1/128 {self.auth}",
        ]
        (self.datadir / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        _give_to_server_user(self._base())

    def _launch(self, timeout: float) -> None:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.datadir)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self._base(),
            **_run_as(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log_text()}")
            if self._ready():
                return
            time.sleep(0.05)
        raise TimeoutError(f"postgres not ready after {timeout}s:\n{self.log_text()}")

    def _ready(self) -> bool:
        result = subprocess.run(
            [
                str(self.bindir / "pg_isready"),
                "-q",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
            ],
            check=False,
        )
        return result.returncode == 0

    def _create_app(self) -> None:
        app_pw = self.app_password.replace("'", "''")
        super_pw = self.superuser_password.replace("'", "''")
        self.psql(
            # re-set the superuser password so it is stored with password_encryption
            f"ALTER ROLE {self.superuser} PASSWORD '{super_pw}';"
            f"CREATE ROLE {self.app_user} LOGIN PASSWORD '{app_pw}';"
        )
        self.psql(f"CREATE DATABASE {self.app_database} OWNER {self.app_user};")

    def _run(self, argv: Sequence[str]) -> None:
        result = subprocess.run(
            argv, capture_output=True, cwd=self._base(), check=False, **_run_as()
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout!r} {result.stderr!r}")

    # -- use -----------------------------------------------------------------

    def dsn(
        self,
        user: str | None = None,
        password: str | None = None,
        db: str | None = None,
        *,
        unix: bool = False,
    ) -> str:
        """A libpq key/value connection string (superuser and `postgres` by default)."""
        user = user or self.superuser
        if password is None:
            password = self.superuser_password if user == self.superuser else self.app_password
        host = str(self.socket_dir) if unix else self.host
        parts = {"host": host, "port": self.port, "user": user, "password": password}
        parts["dbname"] = db or "postgres"
        return " ".join(f"{key}={_quote(str(value))}" for key, value in parts.items())

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over the unix socket; return psql's unaligned output."""
        env = dict(os.environ, PGPASSWORD=self.superuser_password, PGCONNECT_TIMEOUT="10")
        argv = [
            str(self.bindir / "psql"),
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.superuser,
            "-d",
            db,
            "-c",
            sql,
        ]
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        """Current length of the server log; pass it to `log_since` to see what came after."""
        return len(self.log_text())

    def log_since(self, offset: int) -> str:
        return self.log_text()[offset:]


def _quote(value: str) -> str:
    if value and all(ch not in value for ch in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Fast shutdown (SIGINT), then SIGKILL; orphaned backends notice postmaster death."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
