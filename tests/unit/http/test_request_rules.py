"""Pure request rules: targets, identity headers, header filtering, API shapes, errors."""

from __future__ import annotations

import base64
import json

import pytest

from support.http_masking import body_masker
from wardgate.seam import AccessDenied, AuthenticationFailed, UpstreamUnavailable
from wardgate_http.errors import gate_reply
from wardgate_http.headers import client_headers, presented_secret, upstream_headers
from wardgate_http.llm import LlmEvidence, detect_api, request_attributes
from wardgate_http.masker import mask_tree
from wardgate_http.settings import HttpUpstream
from wardgate_http.target import BadTarget, parse_target

NAMES = ("proxy-authorization", "authorization", "x-api-key")


@pytest.mark.parametrize(
    ("raw", "path", "query"),
    [
        ("/v1/chat/completions", "/v1/chat/completions", ""),
        ("/v1/%63hat/completions?x=1", "/v1/chat/completions", "x=1"),
        ("/v1/./a/../chat/completions", "/v1/chat/completions", ""),
        ("/%2e%2e/admin/x", "/admin/x", ""),
        ("http://example.com/v1/models?a=b", "/v1/models", "a=b"),
        ("/a%20b/", "/a%20b/", ""),
    ],
)
def test_targets_normalise(raw: str, path: str, query: str) -> None:
    target = parse_target(raw)
    assert (target.path, target.query) == (path, query)


@pytest.mark.parametrize("raw", ["*", "/a%2Fb", "/a%5cb", "/a\\b", "/x%00"])
def test_bad_targets(raw: str) -> None:
    with pytest.raises(BadTarget):
        parse_target(raw)


def test_presented_secret_order_and_schemes() -> None:
    basic = base64.b64encode(b"alice:tok-basic").decode()
    assert presented_secret([(b"authorization", b"Bearer tok-1")], NAMES) == ("tok-1", "")
    assert presented_secret(
        [(b"authorization", b"Bearer agent-key"), (b"proxy-authorization", b"Bearer tok-2")], NAMES
    ) == ("tok-2", "")
    assert presented_secret([(b"authorization", f"Basic {basic}".encode())], NAMES) == (
        "tok-basic",
        "alice",
    )
    assert presented_secret([(b"x-api-key", b"tok-3")], NAMES) == ("tok-3", "")
    assert presented_secret([(b"accept", b"*/*")], NAMES) is None


def test_upstream_headers_strip_identity_and_hop_by_hop() -> None:
    out = dict(
        upstream_headers(
            [
                (b"host", b"gw:1"),
                (b"authorization", b"Bearer agent-token"),
                (b"x-api-key", b"agent-token"),
                (b"connection", b"keep-alive, x-private"),
                (b"x-private", b"1"),
                (b"te", b"trailers"),
                (b"content-length", b"5"),
                (b"accept", b"*/*"),
                (b"x-forwarded-for", b"10.0.0.1"),
            ],
            strip=NAMES,
            host="up:443",
            inject={"Authorization": "Bearer upstream"},
            forwarded_for="127.0.0.1",
            accept_identity=True,
        )
    )
    assert out == {
        b"host": b"up:443",
        b"accept": b"*/*",
        b"x-forwarded-for": b"10.0.0.1, 127.0.0.1",
        b"accept-encoding": b"identity",
        b"authorization": b"Bearer upstream",
    }


def test_client_headers_never_carry_the_credential() -> None:
    out = client_headers(
        [
            (b"x-echo", b"Bearer upstream-secret"),
            (b"content-length", b"9"),
            (b"connection", b"close"),
        ],
        ["upstream-secret"],
        drop_length=True,
    )
    assert out == [(b"x-echo", b"[wardgate: credential removed]")]


def test_api_detection_and_attributes() -> None:
    assert detect_api("/v1/chat/completions") == "openai.chat"
    assert detect_api("/openai/v1/completions/") == "openai.completions"
    assert detect_api("/v1/messages") == "anthropic.messages"
    assert detect_api("/api/items") == ""
    body = {"model": "gpt-4o", "stream": True, "messages": []}
    assert request_attributes("openai.chat", body) == {
        "api": "openai.chat",
        "model": "gpt-4o",
        "stream": "true",
    }


def test_llm_evidence_from_request_and_stream() -> None:
    evidence = LlmEvidence("anthropic.messages")
    body = {
        "model": "claude",
        "system": "be nice",
        "messages": [{"role": "user", "content": "AKIAABCDEFGHIJKLMNOP"}],
    }
    evidence.request(mask_tree(body, body_masker())[0])
    evidence.response(
        {
            "type": "message_start",
            "message": {"model": "claude-x", "usage": {"input_tokens": 9, "output_tokens": 1}},
        }
    )
    evidence.response(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 7},
        }
    )
    fields = evidence.fields()
    assert fields["model"] == "claude-x"
    assert fields["requested_model"] == "claude"
    assert fields["usage"] == {"input_tokens": 9, "output_tokens": 7}
    assert fields["finish_reason"] == "end_turn"
    assert "AKIA" not in json.dumps(fields["prompt"])


def test_gate_errors_map_to_statuses() -> None:
    assert gate_reply(AuthenticationFailed("bad")).status == 401
    assert gate_reply(AccessDenied("no")).status == 403
    assert gate_reply(UpstreamUnavailable("down")).status == 503


def test_settings_validate_url() -> None:
    with pytest.raises(ValueError, match="http"):
        HttpUpstream(url="ftp://x")
    settings = HttpUpstream(url="https://llm.example.com/base/")
    assert (settings.host, settings.port, settings.prefix, settings.tls) == (
        "llm.example.com",
        443,
        "/base",
        True,
    )
    assert HttpUpstream(url="http://127.0.0.1:8080").host_header == "127.0.0.1:8080"
