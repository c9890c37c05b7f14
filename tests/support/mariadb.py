"""A private, throwaway MariaDB server for tests.

`MariaDB` runs ``mariadb-install-db`` into a temporary directory, then starts
``mariadbd`` in the foreground (TLS with the test certificates, a TCP port on
127.0.0.1 and a unix socket) as the ``mysql`` OS user when the tests run as root,
and creates users for each authentication plugin the gateway speaks upstream:

========================  =========================  ==================
user                      plugin                     password
========================  =========================  ==================
``native_user``           mysql_native_password      ``native-pw``
``ed_user``               ed25519 (client_ed25519)   ``ed-pw``
``tls_user``              mysql_native_password      ``tls-pw`` (REQUIRE SSL)
========================  =========================  ==================

and the database ``shop``. MariaDB 10.11 has no server-side caching_sha2_password.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .certs import Certs
from .ports import free_port

SERVER_USER = "mysql"
USERS = {
    "native_user": ("mysql_native_password", "native-pw"),
    "ed_user": ("ed25519", "ed-pw"),
    "tls_user": ("mysql_native_password", "tls-pw"),
}
SETUP_SQL = """
INSTALL SONAME 'auth_ed25519';
CREATE DATABASE shop;
CREATE USER native_user@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('native-pw');
CREATE USER ed_user@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-pw');
CREATE USER tls_user@'%' IDENTIFIED BY 'tls-pw' REQUIRE SSL;
GRANT ALL ON *.* TO native_user@'%', ed_user@'%', tls_user@'%';
"""


def mariadb_installed() -> bool:
    return all(shutil.which(tool) for tool in ("mariadb-install-db", "mariadbd", "mariadb"))


def _server_user() -> Any:
    return pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None


def _give_to_server_user(path: Path) -> None:
    entry = _server_user()
    if entry is None:
        return
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class MariaDB:
    """One mariadbd process; `start()` / `stop()` or a ``with`` block."""

    def __init__(self, certs: Certs) -> None:
        self.certs = certs
        self.base = Path()
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.base / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        return self.base / "error.log"

    @property
    def ca(self) -> Path:
        return self.base / "tls" / "ca.pem"

    def start(self, timeout: float = 60.0) -> MariaDB:
        self.base = Path(tempfile.mkdtemp(prefix="wardgate-mariadb-"))
        os.chmod(self.base, 0o755)
        self._copy_certs()
        self._install()
        self.port = free_port()
        self._launch()
        self._wait(timeout)
        self.sql(SETUP_SQL)
        return self

    def _copy_certs(self) -> None:
        tls = self.base / "tls"
        tls.mkdir()
        for source in (self.certs.ca, self.certs.cert, self.certs.key):
            shutil.copy(source, tls / source.name)

    def _user_args(self) -> list[str]:
        return [f"--user={SERVER_USER}"] if _server_user() is not None else []

    def _install(self) -> None:
        _give_to_server_user(self.base)
        argv = [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={self.base / 'data'}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            *self._user_args(),
        ]
        result = subprocess.run(argv, capture_output=True, timeout=120, check=False)
        if result.returncode:
            raise RuntimeError(f"mariadb-install-db failed:\n{result.stderr.decode()}")

    def _launch(self) -> None:
        tls = self.base / "tls"
        argv = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.base / 'data'}",
            f"--socket={self.socket}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={self.base / 'mysqld.pid'}",
            f"--log-error={self.log_path}",
            f"--ssl-ca={tls / 'ca.pem'}",
            f"--ssl-cert={tls / 'server.pem'}",
            f"--ssl-key={tls / 'server.key'}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0",
            "--max-allowed-packet=64M",
            "--performance-schema=OFF",
            *self._user_args(),
        ]
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited:\n{self.log_text()}")
            if self.socket.exists() and self._ping():
                return
            time.sleep(0.1)
        raise RuntimeError(f"mariadbd not ready after {timeout}s:\n{self.log_text()}")

    def _ping(self) -> bool:
        argv = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-e", "SELECT 1"]
        return subprocess.run(argv, capture_output=True, check=False).returncode == 0

    def sql(self, statements: str) -> str:
        """Run SQL as root over the unix socket; returns tab-separated output."""
        argv = ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"]
        result = subprocess.run(
            argv, input=statements.encode(), capture_output=True, timeout=60, check=False
        )
        if result.returncode:
            raise RuntimeError(f"SQL failed: {result.stderr.decode()}")
        return result.stdout.decode()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except (FileNotFoundError, PermissionError):
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.base != Path():
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
