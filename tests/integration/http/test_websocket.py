"""The configured upgrade tunnel (`upstream.upgrades: [websocket]`): a real WebSocket
exchange through wardgate to the fixture upstream, and 403 for an unlisted upgrade."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from support.gateway import Gateway, Token

from .conftest import base_url

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _ws_url(gateway: Gateway, resource: str) -> str:
    return base_url(gateway, resource).replace("http://", "ws://") + "/ws/echo"


def test_websocket_exchange_through_the_tunnel(http_gateway: Gateway, http_token: Token) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    with connect(_ws_url(http_gateway, "ws"), additional_headers=headers, open_timeout=10) as ws:
        for word in ("hello", "wardgate", "é" * 70_000):  # the last spans many TCP reads
            ws.send(word)
            assert ws.recv(timeout=10) == f"echo: {word}"
    starts = http_gateway.events("command")
    assert any(e.get("statement") == "GET /ws/echo" for e in starts)


def test_unlisted_upgrade_is_refused(http_gateway: Gateway, http_token: Token) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    with pytest.raises(InvalidStatus) as caught:
        connect(_ws_url(http_gateway, "api"), additional_headers=headers, open_timeout=10)
    response = caught.value.response
    assert response.status_code == 403
    assert b"upgrade_refused" in response.body
