"""Human review end to end: a gateway whose policy holds writes, real clients, reviewers.

- `ReviewTokens`: the requesters (one identity per scenario, so a grant given in one
  test never lets another test's command through) and the reviewers.
- `review_policy()`: writes are held for group `dba`; `agent-timeout` times out after
  2 s, `agent-quorum` needs two approvals.
- `Scratch`: a throwaway database on the machine's PostgreSQL and MariaDB with one
  `accounts` table; every test takes its own row (`new_row`) and reads it directly.
- `Admin`: the REST API as a reviewer (httpx); `cli()`: `wardgate reviews …`.
- `HeldClient`: psql, psycopg or PyMySQL running one statement in a thread, so the
  test can decide the review while the client waits.
- `WebhookReceiver`: a local HTTP server (a thread) recording what webhooks post.
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .gateway import Gateway, Token, make_token, pg_resource


@dataclass(frozen=True)
class ReviewTokens:
    agent: Token = field(default_factory=lambda: make_token("agent-1", ["agents"]))
    agent_dba: Token = field(default_factory=lambda: make_token("agent-dba", ["agents", "dba"]))
    agent_timeout: Token = field(default_factory=lambda: make_token("agent-timeout", ["agents"]))
    agent_quorum: Token = field(default_factory=lambda: make_token("agent-quorum", ["agents"]))
    agent_grant: Token = field(default_factory=lambda: make_token("agent-grant", ["agents"]))
    alice: Token = field(default_factory=lambda: make_token("alice", ["dba"]))
    bob: Token = field(default_factory=lambda: make_token("bob", ["dba"]))
    mallory: Token = field(default_factory=lambda: make_token("mallory", ["ops"]))

    def all(self) -> list[Token]:
        return [getattr(self, name) for name in self.__dataclass_fields__]


UPDATE = {
    "postgres": "UPDATE accounts SET balance = balance + 10 WHERE id = {row} RETURNING balance",
    "mysql": "UPDATE accounts SET balance = balance + 10 WHERE id = {row}",
}
PROTOCOL = {"psql": "postgres", "psycopg": "postgres", "pymysql": "mysql"}


def review_policy() -> dict[str, Any]:
    held = {"allow": ["read", "session"], "review": ["write"], "review_by": ["dba"]}
    return {
        "default": "deny",
        "rules": [
            {"name": "slow-review", "when": {"identities": ["agent-timeout"]}}
            | held
            | {"review_timeout": "2s"},
            {"name": "quorum", "when": {"identities": ["agent-quorum"]}}
            | held
            | {"min_approvals": 2, "review_timeout": "30s"},
            {"name": "agents", "when": {"groups": ["agents"]}}
            | held
            | {"deny": ["ddl", "admin"], "review_timeout": "30s"},
        ],
    }


# -- scratch databases -------------------------------------------------------------------


class Scratch:
    """`wg_rev_<random>` on the machine's PostgreSQL and MariaDB, dropped by `drop()`."""

    def __init__(self, pg_dsn: Callable[[str], str]) -> None:
        self.name = "wg_rev_" + secrets.token_hex(4)
        self._pg_dsn = pg_dsn
        self._rows = itertools.count(1)

    def create(self) -> Scratch:
        import psycopg

        with psycopg.connect(self._pg_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")
        with psycopg.connect(self._pg_dsn(self.name), autocommit=True) as conn:
            conn.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
        with self._mariadb() as my, my.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {self.name}")
            cursor.execute(
                f"CREATE TABLE {self.name}.accounts (id int PRIMARY KEY, balance int NOT NULL)"
            )
        return self

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self._pg_dsn("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        with self._mariadb() as my, my.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {self.name}")

    def new_row(self, protocol: str, balance: int = 100) -> int:
        row = next(self._rows)
        self._execute(protocol, f"INSERT INTO accounts VALUES ({row}, {balance})")
        return row

    def balance(self, protocol: str, row: int) -> int:
        value = self._execute(protocol, f"SELECT balance FROM accounts WHERE id = {row}")
        assert value is not None
        return int(value)

    def _execute(self, protocol: str, sql: str) -> Any:
        if protocol == "postgres":
            import psycopg

            with psycopg.connect(self._pg_dsn(self.name), autocommit=True) as conn:
                cursor = conn.execute(sql)
                found = cursor.fetchone() if cursor.description else None
        else:
            with self._mariadb(self.name) as my, my.cursor() as cursor:
                cursor.execute(sql)
                found = cursor.fetchone()
        return found[0] if found else None

    @staticmethod
    def _mariadb(database: str | None = None) -> Any:
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=3306, user="root", database=database, autocommit=True
        )


def review_resources(scratch: Scratch, pg_host: str, pg_port: int, pg_user: str) -> list[Any]:
    pg = pg_resource(
        "pg", host=pg_host, port=pg_port, user=pg_user, password="", database=scratch.name
    )
    my = {
        "name": "my",
        "protocol": "mysql",
        "listen": "127.0.0.1:0",
        "upstream": {"host": "127.0.0.1", "port": 3306, "database": scratch.name, "tls": "disable"},
        "credentials": {"static": {"user": "root", "password": ""}},
    }
    return [pg, my]


# -- reviewers -----------------------------------------------------------------------------


class Admin:
    """The review API of one gateway, as one reviewer."""

    def __init__(self, gateway: Gateway, token: Token) -> None:
        self.url = gateway.admin_url
        self.token = token

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token.secret}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)

    def review(self, review_id: str) -> dict[str, Any]:
        response = self._call("GET", f"/api/reviews/{review_id}")
        response.raise_for_status()
        return dict(response.json())

    def pending(self) -> list[dict[str, Any]]:
        response = self._call("GET", "/api/reviews", params={"status": "pending"})
        response.raise_for_status()
        return list(response.json()["reviews"])

    def wait_pending(self, statement: str, timeout: float = 10.0) -> dict[str, Any]:
        """The pending review of exactly `statement` (each test's row id makes it unique)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for review in self.pending():
                if review["statement"] == statement:
                    return review
            time.sleep(0.05)
        raise AssertionError(f"no pending review for {statement!r}")

    def wait_status(self, review_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            review = self.review(review_id)
            if review["status"] == status or time.monotonic() > deadline:
                assert review["status"] == status, review
                return review
            time.sleep(0.05)

    def approve(self, review_id: str, **body: Any) -> httpx.Response:
        return self._call("POST", f"/api/reviews/{review_id}/approve", json=body)

    def deny(self, review_id: str, reason: str) -> httpx.Response:
        return self._call("POST", f"/api/reviews/{review_id}/deny", json={"reason": reason})

    def audit(self) -> list[dict[str, Any]]:
        response = self._call("GET", "/api/audit", params={"limit": 1000})
        response.raise_for_status()
        return list(response.json()["records"])


def cli(gateway: Gateway, token: Token, *args: str) -> subprocess.CompletedProcess[str]:
    """`wardgate reviews ARGS` against `gateway`, authenticated as `token`."""
    env = dict(os.environ, WARDGATE_SERVER=gateway.admin_url, WARDGATE_TOKEN=token.secret)
    argv = [sys.executable, "-m", "wardgate", "reviews", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)


# -- clients that wait ---------------------------------------------------------------------


class HeldClient:
    """One statement through the gateway in a background thread; `result()` joins it."""

    def __init__(self, gateway: Gateway, client: str, token: Token, sql: str, db: str) -> None:
        self.gateway, self.client, self.token, self.sql, self.db = gateway, client, token, sql, db
        self.notices: list[str] = []
        self.value: Any = None
        self.error: BaseException | None = None
        self.after: Any = None  # a follow-up `SELECT 1` on the same session, proving it usable
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> HeldClient:
        self._thread.start()
        return self

    def result(self, timeout: float = 20.0) -> HeldClient:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self.client} still waiting after {timeout}s"
        return self

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            getattr(self, "_" + self.client)()
        except BaseException as exc:  # reported to the test through `error`
            self.error = exc

    def _psql(self) -> None:
        dsn = self.gateway.dsn("pg", token=self.token.secret, dbname=self.db)
        argv = ["psql", dsn, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", self.sql, "-c", "SELECT 1"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        self.notices = [line for line in done.stderr.splitlines() if "NOTICE" in line]
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        lines = done.stdout.split()
        self.value, self.after = int(lines[0]), int(lines[-1])

    def _psycopg(self) -> None:
        import psycopg

        dsn = self.gateway.dsn("pg", token=self.token.secret, dbname=self.db)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.add_notice_handler(lambda notice: self.notices.append(str(notice.message_primary)))
            try:
                row = conn.execute(self.sql).fetchone()
                self.value = row[0] if row else None
            except psycopg.Error as exc:
                self.error = exc
            self.after = self._follow_up(lambda: conn.execute("SELECT 1").fetchone())

    def _pymysql(self) -> None:
        import pymysql

        host, port = self.gateway.address("my")
        conn = pymysql.connect(
            host=host,
            port=port,
            user="agent",
            password=self.token.secret,
            database=self.db,
            autocommit=True,
        )
        try:
            cursor = conn.cursor()
            try:
                self.value = cursor.execute(self.sql)  # affected rows
            except pymysql.MySQLError as exc:
                self.error = exc
            self.after = self._follow_up(lambda: (cursor.execute("SELECT 1"), cursor.fetchone())[1])
        finally:
            with contextlib.suppress(Exception):
                conn.close()

    def _follow_up(self, query: Callable[[], Any]) -> Any:
        """The next query on the same session: its answer, or its error."""
        try:
            return query()
        except Exception as exc:
            return exc


def hold_update(
    gateway: Gateway, scratch: Scratch, client: str, token: Token, reviewer: Admin
) -> tuple[HeldClient, int, dict[str, Any]]:
    """`client` sends the +10 UPDATE of a fresh row; returns it waiting, the row and the review."""
    protocol = PROTOCOL[client]
    row = scratch.new_row(protocol)
    sql = UPDATE[protocol].format(row=row)
    held = HeldClient(gateway, client, token, sql, scratch.name).start()
    return held, row, reviewer.wait_pending(sql)


# -- webhook receiver ----------------------------------------------------------------------


@dataclass
class Delivery:
    path: str
    body: dict[str, Any]
    at: float


class WebhookReceiver:
    """`/slack`, `/generic`: 200; `/flaky`: 500 at each review's first call; `/hang`: no answer."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                first = receiver.record(Delivery(self.path, body, time.monotonic()))
                if self.path == "/hang":
                    time.sleep(60)
                status = 500 if self.path == "/flaky" and first else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, delivery: Delivery) -> bool:
        """Keep a delivery; True if it is the first on its path for its review."""
        with self._lock:
            first = not self.for_review(delivery.path, _review_id(delivery.body))
            self.deliveries.append(delivery)
        return first

    def for_review(self, path: str, review_id: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == path and _review_id(d.body) == review_id]

    def wait_for(
        self, path: str, review_id: str, count: int = 1, timeout: float = 10.0
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.for_review(path, review_id)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{path} got {self.for_review(path, review_id)} for {review_id}")

    def hooks(self) -> list[dict[str, Any]]:
        return [
            {"url": self.url + "/slack", "format": "slack"},
            {"url": self.url + "/generic", "format": "generic", "headers": {"X-Test": "1"}},
            {"url": self.url + "/flaky"},
            {"url": self.url + "/hang"},
        ]


def _review_id(body: dict[str, Any]) -> str:
    if "review" in body:
        return str(body["review"]["id"])
    text = str(body.get("text", ""))
    marker = "wardgate review "
    if marker in text:
        return text.split(marker, 1)[1].split("*", 1)[0].strip()
    return ""


def metric(gateway: Gateway, name: str) -> float:
    """One unlabelled sample from the gateway's /metrics (0 when absent)."""
    text = httpx.get(gateway.admin_url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
