"""PgBouncer as the baseline: installed from the distribution if missing, session pooling.

PgBouncer refuses to run as root, so when we are root it is started with
``-u USER`` (default ``postgres``) and its files live in a directory that user owns.
Clients authenticate with ``auth_type = trust`` (the user must still be listed in
``auth_file``); the server side uses whatever the upstream accepts for that user —
the benchmark's upstream is the machine's trust-auth PostgreSQL. The pool holds one
server connection per client, so session pooling never makes a client wait.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common.processes import Processes, free_port, wait_for_port

CANDIDATES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((c for c in CANDIDATES if os.access(c, os.X_OK)), None)


def ensure_pgbouncer() -> str:
    """Path of the pgbouncer binary; ``apt-get install pgbouncer`` first if missing."""
    found = find_pgbouncer()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(
            "pgbouncer is not installed; install it with: sudo apt-get install pgbouncer"
        )
    print("pgbouncer is not installed; installing it with apt-get (Debian package)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "pgbouncer"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = find_pgbouncer()
    if not found:
        raise SystemExit("apt-get install pgbouncer succeeded but no pgbouncer binary was found")
    return found


def version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0].strip() if out.stdout else ""


@dataclass
class PgBouncer:
    proc: subprocess.Popen[Any]
    host: str
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_pgbouncer(
    procs: Processes,
    binary: str,
    *,
    upstream_host: str,
    upstream_port: int,
    database: str,
    user: str,
    pool_size: int,
    run_as: str = "postgres",
) -> PgBouncer:
    workdir = Path(tempfile.mkdtemp(prefix="pgbench_compare.pgbouncer."))
    port = free_port()
    ini = workdir / "pgbouncer.ini"
    userlist = workdir / "userlist.txt"
    log_path = workdir / "pgbouncer.log"
    ini.write_text(_ini(upstream_host, upstream_port, database, port, userlist, pool_size))
    userlist.write_text(f'"{user}" ""\n')
    argv = [binary, str(ini)]
    if os.geteuid() == 0:
        _give_to(workdir, run_as)
        argv[1:1] = ["-u", run_as]
    with log_path.open("wb") as log:
        proc = procs.start(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    procs.on_exit(lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        wait_for_port("127.0.0.1", port, 15.0, proc)
    except (RuntimeError, TimeoutError) as exc:
        raise RuntimeError(f"pgbouncer did not start: {exc}\n{log_path.read_text()}") from None
    return PgBouncer(proc, "127.0.0.1", port, log_path)


def _ini(host: str, port: int, database: str, listen: int, userlist: Path, pool: int) -> str:
    return f"""\
[databases]
{database} = host={host} port={port} dbname={database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {userlist}
pool_mode = session
default_pool_size = {pool}
max_client_conn = {pool + 20}
ignore_startup_parameters = extra_float_digits
logfile =
pidfile =
"""


def _give_to(directory: Path, user: str) -> None:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise SystemExit(
            f"pgbouncer will not run as root and there is no OS user {user!r} to run it as; "
            "pass --pgbouncer-user NAME"
        ) from None
    for path in (directory, *directory.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)
