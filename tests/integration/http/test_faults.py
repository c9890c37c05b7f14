"""Bad input and bad upstreams: every refusal answered (or cut), counted, and the
gateway keeps serving everyone else."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from support.gateway import Gateway, Token

from .conftest import base_url


def _raw(gateway: Gateway, resource: str, data: bytes, wait: float = 5.0) -> bytes:
    with socket.create_connection(gateway.address(resource), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n",
        b"GET /x HTTP/1.1\r\nbad header line\r\n\r\n",
    ],
)
def test_malformed_requests_get_400(http_gateway: Gateway, request_bytes: bytes) -> None:
    reply = _raw(http_gateway, "api", request_bytes)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert b'"bad_request"' in reply


def test_oversized_headers_get_431(http_gateway: Gateway) -> None:
    big = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    reply = _raw(http_gateway, "short", big)
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_slow_loris_head_is_cut(http_gateway: Gateway, http_token: Token) -> None:
    started = time.monotonic()
    with socket.create_connection(http_gateway.address("short"), timeout=5) as sock:
        sock.sendall(b"GET /api/items HTTP/1.1\r\nHost: a\r\n")
        for _ in range(4):  # a header line now and then, never the end of the head
            time.sleep(0.4)
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except OSError:
                break
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 4
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    assert (
        httpx.get(base_url(http_gateway, "short") + "/api/items", headers=headers).status_code
        == 200
    )


def test_stalled_body_is_cut(http_gateway: Gateway, http_token: Token) -> None:
    head = (
        b"POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n"
        b"Authorization: Bearer "
        + http_token.secret.encode()
        + b"\r\nContent-Length: 100\r\n\r\nabc"
    )
    reply = _raw(http_gateway, "short", head)
    assert b" 408 " in reply.split(b"\r\n", 1)[0] or reply == b""


def test_upstream_timeout_is_504(http_gateway: Gateway, http_token: Token) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    response = httpx.get(
        base_url(http_gateway, "short") + "/api/slow?seconds=3", headers=headers, timeout=10
    )
    assert response.status_code == 504


def test_connect_is_refused(http_gateway: Gateway) -> None:
    reply = _raw(
        http_gateway, "api", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 ")
    assert reply.split(b" ")[1] in (b"401", b"405")


def test_refusals_are_counted(http_gateway: Gateway) -> None:
    _raw(http_gateway, "api", b"GARBAGE\r\n\r\n")
    metrics = httpx.get(http_gateway.admin_url + "/metrics").text
    lines = [
        line
        for line in metrics.splitlines()
        if line.startswith("wardgate_refusals_total") and 'resource="api"' in line
    ]
    assert lines
    assert any(float(line.rsplit(" ", 1)[1]) >= 1 for line in lines)
