"""`identity.end_sessions_at_expiry` on the HTTP plugin: a response still streaming when
the token that authorised it expires is cut at the token's `exp` (not before), a
WebSocket is closed with 1008, the log and the audit say `token expired`, and other
connections go on. Without the setting a stream outlives its token.

A real loopback OIDC issuer, `wardgate serve`, httpx / websockets clients and the
fixture upstream's paced streams (`/sse/paced`, `/api/paced`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from support.gateway import Gateway
from support.http_upstream import HttpUpstreamServer
from support.oidc_issuer import OidcIssuer

from .conftest import UPSTREAM_KEY, base_url, http_resource

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LIFETIME = 3  # seconds a short token lives (its `exp` is whole seconds: 2 to 3 s ahead)
SLACK = 1.0  # how late after `exp` the cut may come (a loaded 2-core machine)
EVENTS, INTERVAL = 28, 0.25  # the paced stream: 7 s, well past a short token's end


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as server:
        yield server


def start_gateway(upstream: HttpUpstreamServer, issuer: OidcIssuer, *, at_expiry: bool) -> Gateway:
    oidc = {"issuer": issuer.url, "audience": "wardgate", "groups_claim": "groups"}
    identity = {"oidc": [oidc], "end_sessions_at_expiry": at_expiry}
    sinks = [{"type": "file", "path": "audit.jsonl"}]
    gateway = Gateway(
        [
            http_resource("api", upstream.url),
            http_resource("ws", upstream.url, upgrades=["websocket"]),
        ],
        env={"WG_TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        extra_config={"identity": identity, "audit": {"sinks": sinks, "fsync_interval": "20ms"}},
    )
    return gateway.start()


@pytest.fixture(scope="module")
def expiring(upstream: HttpUpstreamServer, issuer: OidcIssuer) -> Iterator[Gateway]:
    gateway = start_gateway(upstream, issuer, at_expiry=True)
    yield gateway
    gateway.cleanup()


def short_token(issuer: OidcIssuer, sub: str) -> tuple[str, float]:
    expires = int(time.time()) + LIFETIME
    return issuer.mint(sub, ["agents"], exp=expires), float(expires)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stream_sse(url: str, token: str) -> tuple[list[tuple[float, str]], BaseException | None]:
    """Every `data:` line with the wall-clock time it arrived, and what ended the stream
    abnormally (None: it ended properly)."""
    lines: list[tuple[float, str]] = []
    path = f"/sse/paced?events={EVENTS}&interval={INTERVAL}"
    try:
        with (
            httpx.Client(timeout=30) as client,
            client.stream("GET", url + path, headers=bearer(token)) as response,
        ):
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data:"):
                    lines.append((time.time(), line))
    except httpx.HTTPError as exc:
        return lines, exc
    return lines, None


def session_end(gateway: Gateway, identity: str, start: int = 0) -> dict[str, Any]:
    return gateway.wait_for_event(
        lambda r: r.get("event") == "session_end" and r.get("identity") == identity, start=start
    )


def audit_records(gateway: Gateway, identity: str) -> list[dict[str, Any]]:
    path = gateway.dir / "audit.jsonl"
    deadline = time.monotonic() + 5
    while True:
        text = path.read_text() if path.exists() else ""
        records = [json.loads(line) for line in text.splitlines() if identity in line]
        if any(r.get("type") == "session_end" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.05)


def test_a_streaming_response_is_cut_when_its_token_expires(
    expiring: Gateway, issuer: OidcIssuer
) -> None:
    url = base_url(expiring, "api")
    other: list[Any] = []
    bystander = threading.Thread(
        target=lambda: other.extend(stream_sse(url, issuer.mint("sse-bystander", ["agents"])))
    )
    token, expires = short_token(issuer, "sse-expiring")
    bystander.start()
    lines, error = stream_sse(url, token)
    ended_at = time.time()
    bystander.join(30)

    assert isinstance(error, httpx.RemoteProtocolError)  # incomplete chunked body
    assert lines
    assert lines[-1][1] != "data: [DONE]"
    assert lines[-1][0] < expires + SLACK
    assert expires <= ended_at < expires + SLACK  # cut at `exp`, not before
    assert len(lines) < EVENTS
    other_lines, other_error = other
    assert other_error is None
    assert other_lines[-1][1] == "data: [DONE]"

    done = expiring.wait_for_event(
        lambda r: r.get("event") == "command_done" and r.get("identity") == "sse-expiring"
    )
    assert done["error"] == "token expired"
    ended = session_end(expiring, "sse-expiring")
    assert ended["reason"] == "token expired"
    assert ended["ts"] >= expires
    records = audit_records(expiring, "sse-expiring")
    assert any(r.get("error") == "token expired" for r in records), records
    assert any(r.get("reason") == "token expired" for r in records), records


def test_a_content_length_body_is_cut_short(expiring: Gateway, issuer: OidcIssuer) -> None:
    token, expires = short_token(issuer, "body-expiring")
    received = bytearray()
    path = "/api/paced?chunks=40&interval=0.2"

    def read(response: httpx.Response) -> None:
        for chunk in response.iter_raw():
            received.extend(chunk)

    with (
        httpx.Client(timeout=30) as client,
        client.stream("GET", base_url(expiring, "api") + path, headers=bearer(token)) as r,
    ):
        declared = int(r.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            read(r)
    assert expires <= time.time() < expires + SLACK
    assert 0 < len(received) < declared
    assert session_end(expiring, "body-expiring")["reason"] == "token expired"


def ping_until_closed(ws: ClientConnection, expires: float) -> None:
    while True:
        ws.send("ping")
        assert ws.recv(timeout=10) == "echo: ping"
        assert time.time() < expires + SLACK
        time.sleep(0.1)


def test_a_websocket_is_closed_with_1008_when_its_token_expires(
    expiring: Gateway, issuer: OidcIssuer
) -> None:
    ws_url = base_url(expiring, "ws").replace("http://", "ws://") + "/ws/echo"
    token, expires = short_token(issuer, "ws-expiring")
    long_lived = issuer.mint("ws-bystander", ["agents"])
    with (
        connect(ws_url, additional_headers=bearer(token), open_timeout=10) as ws,
        connect(ws_url, additional_headers=bearer(long_lived), open_timeout=10) as bystander,
    ):
        with pytest.raises(ConnectionClosed) as closed:
            ping_until_closed(ws, expires)
        assert expires <= time.time() < expires + SLACK
        bystander.send("still here")
        assert bystander.recv(timeout=10) == "echo: still here"
    received = closed.value.rcvd
    assert received is not None
    assert received.code == 1008
    assert "expired" in received.reason
    assert session_end(expiring, "ws-expiring")["reason"] == "token expired"
    assert any(
        r.get("event") == "token_expired" and r.get("identity") == "ws-expiring"
        for r in expiring.events()
    )


def test_a_request_still_waiting_for_its_answer_gets_401_at_expiry(
    expiring: Gateway, issuer: OidcIssuer
) -> None:
    token, expires = short_token(issuer, "slow-expiring")
    url = base_url(expiring, "api") + "/api/slow?seconds=8"
    response = httpx.get(url, headers=bearer(token), timeout=30)
    assert expires <= time.time() < expires + SLACK
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "token_expired"
    assert session_end(expiring, "slow-expiring")["reason"] == "token expired"


def test_a_token_past_exp_within_leeway_gets_401(expiring: Gateway, issuer: OidcIssuer) -> None:
    """The token verifies (`leeway`), but its session's end has passed: nothing goes
    upstream."""
    token = issuer.mint("leeway", ["agents"], exp=int(time.time()) - 2)
    response = httpx.get(base_url(expiring, "api") + "/api/items", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "token_expired"
    assert session_end(expiring, "leeway")["reason"] == "token expired"


def test_a_fresh_token_on_the_same_connection_is_not_cut_at_the_old_exp(
    expiring: Gateway, issuer: OidcIssuer
) -> None:
    old, expires = short_token(issuer, "refreshing")
    fresh = issuer.mint("refreshing", ["agents"])
    url = base_url(expiring, "api")
    with httpx.Client(timeout=30) as client:
        assert client.get(url + "/api/items", headers=bearer(old)).status_code == 200
        path = f"/sse/paced?events={EVENTS}&interval={INTERVAL}"
        response = client.get(url + path, headers=bearer(fresh))
    assert time.time() > expires
    assert response.text.rstrip().endswith("data: [DONE]")
    ended = session_end(expiring, "refreshing")
    assert ended["reason"] == "credential renewed"


def test_without_the_setting_a_stream_outlives_its_token(
    upstream: HttpUpstreamServer, issuer: OidcIssuer
) -> None:
    gateway = start_gateway(upstream, issuer, at_expiry=False)
    try:
        token, expires = short_token(issuer, "sse-default")
        lines, error = stream_sse(base_url(gateway, "api"), token)
        assert error is None
        assert lines[-1][0] > expires
        assert lines[-1][1] == "data: [DONE]"
        assert len(lines) == EVENTS + 1
    finally:
        gateway.cleanup()
