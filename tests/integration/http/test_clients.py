"""Real clients through the HTTP gateway: curl and the official openai SDK."""

from __future__ import annotations

import json
import shutil
import subprocess

import openai
import pytest

from support.gateway import Gateway, Token

from .conftest import base_url

AWS = "AKIAABCDEFGHIJKLMNOP"


def _client(gateway: Gateway, token: Token, resource: str = "api") -> openai.OpenAI:
    url = base_url(gateway, resource) + "/v1"
    return openai.OpenAI(api_key=token.secret, base_url=url, max_retries=0, timeout=10)


def test_openai_sdk_chat(http_gateway: Gateway, http_token: Token) -> None:
    with _client(http_gateway, http_token) as client:
        reply = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "hello"}]
        )
    assert reply.choices[0].message.content == "Hello from the fixture model."
    assert reply.usage is not None
    assert reply.usage.total_tokens > 0


def test_openai_sdk_streaming_masks_split_secret(http_gateway: Gateway, http_token: Token) -> None:
    with _client(http_gateway, http_token, "logged") as client:  # the prompt goes as it is
        stream = client.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": f"say:here {AWS} there"}],
            stream=True,
            extra_body={"x_chunk": 2},
        )
        pieces = [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]
    assert len(pieces) > 5  # streamed event by event
    assert "".join(pieces) == "here **** there"


def test_openai_sdk_denied_request_surfaces_the_rule(http_gateway: Gateway) -> None:
    outsider = http_gateway.tokens[1]
    with (
        _client(http_gateway, outsider) as client,
        pytest.raises(openai.PermissionDeniedError) as caught,
    ):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert "default" in str(caught.value)


def test_openai_sdk_bad_token(http_gateway: Gateway) -> None:
    client = openai.OpenAI(
        api_key="wrong", base_url=base_url(http_gateway, "api") + "/v1", max_retries=0
    )
    with client, pytest.raises(openai.AuthenticationError):
        client.models.list()


curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


@curl
def test_curl_get_and_post(http_gateway: Gateway, http_token: Token) -> None:
    url = base_url(http_gateway, "api")
    auth = ["-H", f"Authorization: Bearer {http_token.secret}"]
    items = subprocess.run(
        ["curl", "-sS", *auth, f"{url}/api/items"], capture_output=True, check=True
    )
    assert json.loads(items.stdout)["count"] == 2
    posted = subprocess.run(
        [
            "curl",
            "-sS",
            *auth,
            "-H",
            "content-type: application/json",
            "--data",
            '{"k": "v"}',
            f"{url}/api/echo",
        ],
        capture_output=True,
        check=True,
    )
    assert json.loads(json.loads(posted.stdout)["body"]) == {"k": "v"}


@curl
def test_curl_streaming_sse_and_proxy_auth(http_gateway: Gateway, http_token: Token) -> None:
    url = base_url(http_gateway, "api")
    body = json.dumps(
        {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    )
    out = subprocess.run(
        [
            "curl",
            "-sSN",
            "-H",
            f"Proxy-Authorization: Bearer {http_token.secret}",
            "-H",
            "content-type: application/json",
            "--data",
            body,
            f"{url}/v1/chat/completions",
        ],
        capture_output=True,
        check=True,
    )
    assert out.stdout.rstrip().endswith(b"data: [DONE]")


@curl
def test_curl_http2_upgrade_is_ignored_and_websocket_refused(
    http_gateway: Gateway, http_token: Token
) -> None:
    url = base_url(http_gateway, "api") + "/api/items"
    auth = ["-H", f"Authorization: Bearer {http_token.secret}"]
    h2c = subprocess.run(["curl", "-sS", "--http2", *auth, url], capture_output=True, check=True)
    assert json.loads(h2c.stdout)["count"] == 2
    ws = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "-",
            "-w",
            "%{http_code}",
            *auth,
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            url,
        ],
        capture_output=True,
        check=True,
    )
    assert ws.stdout.endswith(b"403")
    assert b"upgrade_refused" in ws.stdout
