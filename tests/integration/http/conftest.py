"""One fixture upstream (plain and TLS) and one gateway with several http resources.

Gateway resources (all on 127.0.0.1:0, policy below):

- `api`: the plain upstream, credential header `Authorization: Bearer <UPSTREAM_KEY>`
  from `${env:WG_TEST_UPSTREAM_KEY}`; request secrets masked (the default)
- `llm`: the plain upstream, `request_secrets: deny`
- `logged`: the plain upstream, `request_secrets: log`, so a prompt's secret reaches
  the fixture model and comes back streamed (the response side must mask it)
- `ws`: the plain upstream with `upgrades: [websocket]`
- `tls`: the TLS upstream, verified against the test CA
- `badca`: the TLS upstream without the test CA (verification must fail)
- `down`: an upstream port nothing listens on
- `short`: tight timeouts and a small header cap for the slow-loris and 431 tests

Masking is the gateway's one `masking:` section (`MASKING`), as for every protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.certs import Certs
from support.gateway import Gateway, Token, make_token
from support.http_upstream import HttpUpstreamServer
from support.ports import unused_closed_port

UPSTREAM_KEY = "upstream-key-0123456789abcdef"
MASKING = [
    {"name": "fields", "fields": ["*.password"], "strategy": "redact"},
    {"name": "cards", "fields": ["cards.*.cvv"], "strategy": "null"},
    {
        "name": "secrets",
        "detectors": ["aws_access_key", "private_key", "jwt", "credit_card"],
        "strategy": "redact",
    },
]
POLICY = {
    "default": "deny",
    "rules": [
        {"name": "no-admin", "when": {"paths": ["/admin/*"]}, "deny": ["all"]},
        {"name": "no-delete", "when": {"methods": ["DELETE"]}, "deny": ["all"]},
        {
            "name": "held",
            "when": {"paths": ["/api/held"]},
            "review": ["all"],
            "review_timeout": "1s",
        },
        {
            "name": "llm-chat",
            "when": {"groups": ["agents"], "methods": ["POST", "GET"]},
            "allow": ["all"],
        },
        {"name": "agents-read", "when": {"groups": ["agents"]}, "allow": ["read", "write"]},
    ],
}


def http_resource(name: str, url: str, **upstream: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": name,
        "protocol": "http",
        "listen": "127.0.0.1:0",
        "upstream": {"url": url, **upstream},
        "credentials": {
            "header": {"name": "Authorization", "value": "Bearer ${env:WG_TEST_UPSTREAM_KEY}"}
        },
    }
    return resource


@pytest.fixture(scope="session")
def upstream() -> Iterator[HttpUpstreamServer]:
    with HttpUpstreamServer() as server:
        yield server


@pytest.fixture(scope="session")
def tls_upstream(test_certs: Certs) -> Iterator[HttpUpstreamServer]:
    with HttpUpstreamServer(test_certs.cert, test_certs.key) as server:
        yield server


@pytest.fixture(scope="session")
def http_token() -> Token:
    return make_token("agent-http", ("agents",))


@pytest.fixture(scope="session")
def http_gateway(
    upstream: HttpUpstreamServer,
    tls_upstream: HttpUpstreamServer,
    test_certs: Certs,
    http_token: Token,
) -> Iterator[Gateway]:
    tls_url = f"https://localhost:{tls_upstream.port}"
    resources = [
        http_resource("api", upstream.url),
        http_resource("llm", upstream.url, request_secrets="deny"),
        http_resource("logged", upstream.url, request_secrets="log"),
        http_resource("ws", upstream.url, upgrades=["websocket"]),
        http_resource("tls", tls_url, ca_file=str(test_certs.ca)),
        http_resource("badca", tls_url),
        http_resource("down", f"http://127.0.0.1:{unused_closed_port()}"),
        http_resource(
            "short",
            upstream.url,
            header_timeout=1.0,
            idle_timeout=3.0,
            body_timeout=1.0,
            max_header_bytes=2048,
            response_timeout=1.0,
        ),
    ]
    gateway = Gateway(
        resources,
        [http_token, make_token("outsider", ("others",))],
        env={"WG_TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        extra_config={"policy": POLICY, "masking": MASKING},
    )
    with gateway:
        yield gateway


def base_url(gateway: Gateway, resource: str) -> str:
    host, port = gateway.address(resource)
    return f"http://{host}:{port}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
