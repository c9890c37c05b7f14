"""The client side of the wire: start-up checks, encryption requests, cancels, refusals."""

from __future__ import annotations

import secrets
import struct
import threading
import time
from typing import Any

import psycopg
import pytest

from support.gateway import Gateway
from support.pgwire import GSSENC_REQUEST, SSL_REQUEST, RawPg, error_of, request_code, send_cancel

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def connect_error(gateway: Gateway, **params: Any) -> str:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(gateway.dsn("pg"), connect_timeout=10, **params).close()
    return str(info.value)


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ("-c role=pg_read_all_data", "role"),
        ("-c session_authorization=postgres", "session_authorization"),
        ("--role=pg_read_all_data", "role"),
        ("-c default_transaction_read_only=off", "default_transaction_read_only"),
        ("-c transaction_read_only=off", "transaction_read_only"),
        ("-c standard_conforming_strings=off", "standard_conforming_strings"),
        ("-c client_encoding=GBK", "GBK"),
        ("-c statement_timeout=0 -c role=pg_read_all_data", "role"),
    ],
)
def test_forbidden_options_refused(machine_gateway: Gateway, options: str, setting: str) -> None:
    assert setting in connect_error(machine_gateway, options=options)


@pytest.mark.parametrize("encoding", ["GBK", "SJIS", "BIG5", "GB18030"])
def test_dangerous_client_encoding_refused(machine_gateway: Gateway, encoding: str) -> None:
    message = connect_error(machine_gateway, client_encoding=encoding)
    assert "encoding" in message.lower(), message


@pytest.mark.parametrize("replication", ["database", "true"])
def test_replication_startup_refused(machine_gateway: Gateway, replication: str) -> None:
    message = connect_error(machine_gateway, replication=replication)
    assert "replication" in message.lower(), message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("default_transaction_read_only", "off"),
        ("session_authorization", "postgres"),
        ("role", "pg_read_all_data"),
        ("standard_conforming_strings", "off"),
        ("client_encoding", "SJIS"),
    ],
)
def test_forbidden_startup_settings_refused(
    machine_gateway: Gateway, name: str, value: str
) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        messages = raw.login(machine_gateway.token, database="postgres", **{name: value})
    error = error_of(messages)
    assert error is not None, f"{name}={value} was let through"
    assert error.fields["S"] == "FATAL"


def test_allowed_startup_parameters(machine_gateway: Gateway) -> None:
    with psycopg.connect(
        machine_gateway.dsn("pg"), application_name="wg-agent-test", client_encoding="UTF8"
    ) as conn:
        row = conn.execute(
            "SELECT current_setting('application_name'), current_setting('client_encoding')"
        ).fetchone()
    assert row == ("wg-agent-test", "UTF8")


def test_encryption_requests(machine_gateway: Gateway) -> None:
    plain, tls = machine_gateway.address("pg"), machine_gateway.address("pg_tls")
    assert request_code(*plain, GSSENC_REQUEST) == b"N"
    assert request_code(*tls, GSSENC_REQUEST) == b"N"
    assert request_code(*plain, SSL_REQUEST) == b"N"
    assert request_code(*tls, SSL_REQUEST) == b"S"


class _SleepInThread:
    """Run a query on `conn` in a thread; keep its result or exception."""

    def __init__(self, conn: psycopg.Connection[Any], sql: str) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(conn, sql))
        self.thread.start()

    def _run(self, conn: psycopg.Connection[Any], sql: str) -> None:
        try:
            self.result = conn.execute(sql).fetchall()
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self.thread.join(30)


def test_forged_cancel_cancels_nothing(machine_gateway: Gateway) -> None:
    host, port = machine_gateway.address("pg")
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as conn:
        upstream_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        client_pid = conn.info.backend_pid
        sleeper = _SleepInThread(conn, "SELECT pg_sleep(1.5), 'survived'")
        time.sleep(0.3)
        for pid in {client_pid, upstream_pid, secrets.randbelow(2**31)}:
            send_cancel(host, port, pid, secrets.randbelow(2**31))
        sleeper.join()
    assert sleeper.error is None, sleeper.error
    assert sleeper.result == [("", "survived")]


@pytest.mark.parametrize("resource", ["pg", "pg_tls"])
def test_real_cancel_is_routed(machine_gateway: Gateway, resource: str) -> None:
    """A cancel reaches its own session's backend and no other (libpq 17+ encrypts it on TLS)."""
    dsn = machine_gateway.dsn(resource, sslmode="prefer")
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        psycopg.connect(dsn, autocommit=True) as other,
    ):
        bystander = _SleepInThread(other, "SELECT pg_sleep(1.5), 'bystander'")
        sleeper = _SleepInThread(conn, "SELECT pg_sleep(20)")
        time.sleep(0.3)
        started = time.monotonic()
        conn.cancel_safe()
        sleeper.join()
        assert time.monotonic() - started < 5
        assert isinstance(sleeper.error, psycopg.errors.QueryCanceled), sleeper.error
        assert conn.execute("SELECT 'after'").fetchone() == ("after",)
        bystander.join()
        assert bystander.error is None, bystander.error
        assert bystander.result == [("", "bystander")]


def test_function_call_refused(machine_gateway: Gateway) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        # FunctionCall for pg_backend_pid() (oid 2026): no arguments, text result
        raw.send(b"F", struct.pack("!Ihhh", 2026, 0, 0, 0))
        messages = raw.read_until(b"E")
    error = messages[-1]
    assert error.type == b"E"
    assert "function" in error.fields["M"].lower(), error.fields
    with psycopg.connect(machine_gateway.dsn("pg")) as conn:  # the gateway still serves
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_unknown_message_type_refused(machine_gateway: Gateway) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        raw.send(b"y", b"\x00" * 12)
        error = raw.read_until(b"E")[-1]
    assert error.type == b"E"
    assert error.sqlstate.startswith("08") or error.sqlstate.startswith("0A"), error.fields


def test_message_over_limit_refused(small_limit_gateway: Gateway) -> None:
    gateway = small_limit_gateway
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as bystander:
        bystander.execute("SELECT 1")
        under = "x" * (60 * 1024)
        with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:
            assert conn.execute("SELECT length(%s::text)", [under]).fetchone() == (len(under),)
        big = psycopg.connect(gateway.dsn("pg"), autocommit=True)
        with big as conn, pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT length(%s::text)", ["x" * (200 * 1024)])
        assert "limit" in str(info.value).lower() or "too large" in str(info.value).lower(), (
            info.value
        )
        assert bystander.execute("SELECT 'still here'").fetchone() == ("still here",)
    with psycopg.connect(gateway.dsn("pg")) as fresh:
        assert fresh.execute("SELECT 2").fetchone() == (2,)


def test_oversized_header_refused_without_body(small_limit_gateway: Gateway) -> None:
    """A header announcing 1 GiB is refused at once: the gateway does not wait for the body."""
    with RawPg(*small_limit_gateway.address("pg"), timeout=5) as raw:
        assert error_of(raw.login(small_limit_gateway.token, database="postgres")) is None
        raw.send_raw(b"Q" + struct.pack("!I", 1 << 30) + b"SELECT ")
        started = time.monotonic()
        error = raw.read_until(b"E")[-1]
    assert time.monotonic() - started < 3
    assert error.type == b"E"
    assert error.sqlstate in {"54000", "08P01"}, error.fields


def test_simple_query_edge_cases(machine_gateway: Gateway) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        assert [m.type for m in raw.query("")] == [b"I", b"Z"]
        both = raw.query("SELECT 1; SELECT 2")
        assert [m.type for m in both] == [b"T", b"D", b"C", b"T", b"D", b"C", b"Z"]
        failed = raw.query("SELECT 1; SELECT 1/0; SELECT 3")
        assert [m.type for m in failed] == [b"T", b"D", b"C", b"E", b"Z"]
        assert failed[3].sqlstate == "22012"
        assert [m.type for m in raw.query("SELECT 4")] == [b"T", b"D", b"C", b"Z"]


def test_extended_protocol_with_flush(machine_gateway: Gateway) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        raw.send(b"P", b"s1\0SELECT $1::int + 1\0\0\0")
        raw.send(b"H")  # Flush: ParseComplete must arrive without a Sync
        assert raw.read_message().type == b"1"
        raw.send(b"B", b"\0s1\0\0\0\0\x01\0\0\0\x0241\0\0")
        raw.send(b"E", b"\0\0\0\0\0")
        raw.send(b"S")
        messages = raw.read_until(b"Z")
    assert [m.type for m in messages] == [b"2", b"D", b"C", b"Z"]
    assert messages[1].payload.endswith(b"42")


def test_oversized_startup_refused(machine_gateway: Gateway) -> None:
    with RawPg(*machine_gateway.address("pg")) as raw:
        raw.send_raw(struct.pack("!II", 100_000_000, 196608))
        error = raw.read_message()
    assert error.type == b"E"
    assert error.sqlstate == "08P01", error.fields


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"SELECT '\xff\xfe'\0", "invalid UTF-8"),
        (b"SELECT 1\0SELECT 2\0", "trailing bytes"),
        (b"SELECT 1", "no terminator"),
    ],
)
def test_malformed_query_in_one_read_is_refused_and_others_keep_working(
    machine_gateway: Gateway, body: bytes, why: str
) -> None:
    """A whole Query in one read is what the relay's fast lane takes; a malformed one must
    still get the codec's protocol error (and be logged), never reach the server."""
    start = len(machine_gateway.events())
    with psycopg.connect(machine_gateway.dsn("pg"), autocommit=True) as bystander:
        with RawPg(*machine_gateway.address("pg")) as raw:
            assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
            raw.send(b"Q", body)
            error = raw.read_until(b"E")[-1]
        assert error.sqlstate == "08P01", (why, error.fields)
        assert "invalid message" in error.fields["M"], error.fields
        assert bystander.execute("SELECT 'still here'").fetchone() == ("still here",)
    logged = machine_gateway.wait_for_event(
        lambda r: r.get("event") == "protocol_error", timeout=10, start=start
    )
    assert "invalid message" in logged["reason"], logged


def test_queries_split_across_reads_or_pipelined_in_one(machine_gateway: Gateway) -> None:
    """What the fast lane does not take (a partial read, two Queries in one read) takes the
    general path with the same answers."""
    with RawPg(*machine_gateway.address("pg")) as raw:
        assert error_of(raw.login(machine_gateway.token, database="postgres")) is None
        frame = b"Q" + struct.pack("!I", 4 + len(b"SELECT 41\0")) + b"SELECT 41\0"
        raw.send_raw(frame[:7])
        time.sleep(0.2)  # the rest arrives in a later read
        raw.send_raw(frame[7:])
        first = raw.read_until(b"Z")
        assert [m.type for m in first] == [b"T", b"D", b"C", b"Z"]
        assert first[1].payload.endswith(b"41")
        second = b"Q" + struct.pack("!I", 4 + len(b"SELECT 42\0")) + b"SELECT 42\0"
        raw.send_raw(second + second)
        both = raw.read_until(b"Z") + raw.read_until(b"Z")
        assert [m.payload[-2:] for m in both if m.type == b"D"] == [b"42", b"42"]
