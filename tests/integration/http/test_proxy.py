"""The HTTP gateway with httpx against the fixture upstream: identity, policy, credential
injection, streaming both ways, masking in JSON and SSE bodies, LLM evidence."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

from support.gateway import Gateway, Token

from .conftest import UPSTREAM_KEY, base_url

AWS = "AKIAABCDEFGHIJKLMNOP"


def _client(gateway: Gateway, token: Token, resource: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token.secret}"}
    return httpx.Client(base_url=base_url(gateway, resource), headers=headers, timeout=10)


@pytest.fixture
def api(http_gateway: Gateway, http_token: Token) -> Iterator[httpx.Client]:
    with _client(http_gateway, http_token, "api") as client:
        yield client


@pytest.fixture
def logged(http_gateway: Gateway, http_token: Token) -> Iterator[httpx.Client]:
    """`request_secrets: log`: a prompt's secret reaches the model and streams back."""
    with _client(http_gateway, http_token, "logged") as client:
        yield client


def _events(gateway: Gateway, name: str) -> list[dict[str, object]]:
    return [e for e in gateway.events() if e.get("event") == name]


def test_credential_injected_and_agent_token_stripped(api: httpx.Client, http_token: Token) -> None:
    echoed = api.post("/api/echo?q=1", json={"a": 1}, headers={"X-Api-Key": "agent-side"}).json()
    headers = echoed["headers"]
    assert headers["authorization"] == "[masked:credential]"  # injected, never echoed back
    assert "x-api-key" not in headers
    assert http_token.secret not in json.dumps(echoed)
    assert echoed["query"] == "q=1"
    assert json.loads(echoed["body"]) == {"a": 1}
    assert UPSTREAM_KEY not in api.get("/api/credential").text


def test_json_masked_by_field_and_detector(api: httpx.Client) -> None:
    data = api.get("/api/items").json()["data"]
    assert {item["password"] for item in data} == {"****"}
    assert AWS not in json.dumps(data)
    assert data[0]["email"] == "alice@example.com"


def test_gzip_response_is_inflated_and_masked(api: httpx.Client) -> None:
    response = api.get("/api/gzip")
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert '"password": "****"' in response.text


def test_deny_names_rule_and_keeps_connection(api: httpx.Client, http_gateway: Gateway) -> None:
    denied = api.delete("/api/echo")
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["rule"] == "no-delete"
    assert error["type"] == "denied"
    assert api.get("/api/items").status_code == 200  # same client, still served
    assert api.get("/admin/../admin/x").json()["error"]["rule"] == "no-admin"
    assert api.get("/%61dmin/x").json()["error"]["rule"] == "no-admin"


def test_review_without_reviewer_refuses(api: httpx.Client) -> None:
    response = api.get("/api/held")
    assert response.status_code == 403
    assert response.json()["error"]["rule"] == "held"


def test_bad_and_missing_tokens(http_gateway: Gateway) -> None:
    url = base_url(http_gateway, "api") + "/api/items"
    assert httpx.get(url).status_code == 401
    bad = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["type"] == "authentication_failed"


def test_outsider_is_denied_by_default(http_gateway: Gateway) -> None:
    outsider = http_gateway.tokens[1]
    url = base_url(http_gateway, "api") + "/api/items"
    response = httpx.get(url, headers={"Proxy-Authorization": f"Bearer {outsider.secret}"})
    assert response.status_code == 403
    assert response.json()["error"]["rule"] == "default"


def test_chunked_upload_streams(api: httpx.Client) -> None:
    blob = b"0123456789abcdef" * 65536  # 1 MiB, not JSON: streamed as it arrives

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(blob), 100_000):
            yield blob[i : i + 100_000]

    response = api.post(
        "/api/upload", content=chunks(), headers={"content-type": "application/octet-stream"}
    )
    assert response.json() == {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}


def test_expect_100_continue(api: httpx.Client) -> None:
    body = b"x" * 5000
    response = api.post(
        "/api/upload",
        content=body,
        headers={"expect": "100-continue", "content-type": "text/plain"},
    )
    assert response.json()["bytes"] == len(body)


def test_keep_alive_reuses_one_session(api: httpx.Client, http_gateway: Gateway) -> None:
    before = len(_events(http_gateway, "session_start"))
    for _ in range(5):
        assert api.get("/api/items").status_code == 200
    assert len(_events(http_gateway, "session_start")) - before <= 1


def test_openai_stream_secret_split_across_events_is_masked(
    logged: httpx.Client, http_gateway: Gateway
) -> None:
    body = {
        "model": "gpt-test",
        "stream": True,
        "stream_options": {"include_usage": True},
        "x_chunk": 3,
        "messages": [{"role": "user", "content": f"say:the key is {AWS}, keep it"}],
    }
    start = len(http_gateway.events())
    with logged.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    text = "".join(
        choice["delta"].get("content", "")
        for line in lines
        if line != "data: [DONE]"
        for choice in json.loads(line[6:])["choices"]
    )
    assert text == "the key is ****, keep it"
    # the evidence line follows the stream's end (it may still be on its way)
    last = http_gateway.wait_for_event(
        lambda e: e.get("event") == "llm_call" and bool(e.get("stream")), start=start
    )
    assert last["model"] == "gpt-test"
    assert last["finish_reason"] == "stop"
    assert last["usage"]["total_tokens"] > 0
    assert AWS not in json.dumps(last["prompt"])


def test_anthropic_messages_evidence(http_gateway: Gateway, http_token: Token) -> None:
    url = base_url(http_gateway, "api") + "/v1/messages"
    headers = {"x-api-key": http_token.secret, "anthropic-version": "2023-06-01"}
    body = {
        "model": "claude-test",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
    }
    start = len(http_gateway.events())
    reply = httpx.post(url, json=body, headers=headers).json()
    assert reply["stop_reason"] == "end_turn"
    evidence = http_gateway.wait_for_event(
        lambda e: e.get("event") == "llm_call" and e.get("api") == "anthropic.messages",
        start=start,
    )
    assert evidence["usage"] == {"input_tokens": 9, "output_tokens": 7}
    assert evidence["finish_reason"] == "end_turn"


def test_secret_in_prompt_masked_or_denied(http_gateway: Gateway, http_token: Token) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    body = {"model": "m", "messages": [{"role": "user", "content": f"use {AWS} please"}]}
    masked = httpx.post(base_url(http_gateway, "api") + "/api/echo", json=body, headers=headers)
    assert AWS not in masked.json()["body"]
    denied = httpx.post(
        base_url(http_gateway, "llm") + "/v1/chat/completions", json=body, headers=headers
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["type"] == "secret_in_request"
    assert AWS not in http_gateway.stderr_text()


def test_https_upstream_verified(http_gateway: Gateway, http_token: Token) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    ok = httpx.get(base_url(http_gateway, "tls") + "/api/items", headers=headers)
    assert ok.status_code == 200
    bad = httpx.get(base_url(http_gateway, "badca") + "/api/items", headers=headers)
    assert bad.status_code == 502
    assert "TLS" in bad.json()["error"]["message"]


def test_upstream_down_is_502_and_others_still_served(
    http_gateway: Gateway, api: httpx.Client, http_token: Token
) -> None:
    headers = {"Authorization": f"Bearer {http_token.secret}"}
    down = httpx.get(base_url(http_gateway, "down") + "/api/items", headers=headers)
    assert down.status_code == 502
    assert down.json()["error"]["type"] == "upstream_error"
    assert api.get("/api/items").status_code == 200
