"""Body walkers of the HTTP plugin: JSON streamed by path, SSE event by event, look-behind.

The masker is the core's (`masking:` rules through `ValueMasker`): field rules,
detectors and the `redact` strategy (`****`) come from `support.http_masking.RULES`.
"""

from __future__ import annotations

import json

import pytest

from support.http_masking import body_masker
from wardgate_http.jsonstream import JsonStreamMasker, MaskingError, TextStreamMasker
from wardgate_http.literals import MARK
from wardgate_http.lookbehind import TextChannel
from wardgate_http.masker import REDACTED, BodyMasker
from wardgate_http.sse import SseMasker, SseSplitter

AWS = "AKIAABCDEFGHIJKLMNOP"
DOC = {
    "data": [
        {"id": 1, "email": "a@x", "password": "hunter2", "note": f"key {AWS} here", "n": 12345},
        {"id": 2, "tags": ["x", 'y\\"z', "é"], "nested": {"password": "p", "ok": True}},
    ],
    "count": 2,
    "empty": [],
}


def _masker() -> BodyMasker:
    return body_masker()


def _expected() -> object:
    expected = json.loads(json.dumps(DOC))
    expected["data"][0]["password"] = REDACTED
    expected["data"][0]["note"] = f"key {REDACTED} here"
    expected["data"][1]["nested"]["password"] = REDACTED
    return expected


def _run(walker: JsonStreamMasker, chunks: list[bytes]) -> bytes:
    return b"".join(walker.feed(chunk) for chunk in chunks) + walker.close()


def test_json_masked_by_path_and_detector() -> None:
    raw = json.dumps(DOC, indent=1).encode()
    out = _run(JsonStreamMasker(_masker()), [raw])
    assert json.loads(out) == _expected()


def test_json_split_at_every_byte_boundary() -> None:
    raw = json.dumps(DOC).encode()
    for cut in range(1, len(raw)):
        out = _run(JsonStreamMasker(_masker()), [raw[:cut], raw[cut:]])
        assert json.loads(out) == _expected(), cut


def test_json_byte_by_byte_releases_before_the_end() -> None:
    raw = json.dumps({"a": "x" * 50, "b": [1, 2, 3]}).encode()
    walker = JsonStreamMasker(_masker())
    released = sum(len(walker.feed(raw[i : i + 1])) for i in range(len(raw) - 1))
    assert released >= len(raw) - 2  # only the last scalar can be held


def test_json_unchanged_values_keep_their_bytes() -> None:
    raw = b'{"a" : "caf\\u00e9",  "b":[1 ,2]}'
    assert _run(JsonStreamMasker(_masker()), [raw]) == raw


def test_json_token_cap_fails_closed() -> None:
    walker = JsonStreamMasker(_masker(), max_token=100)
    with pytest.raises(MaskingError):
        walker.feed(b'{"a": "' + b"x" * 200)


def test_invalid_json_falls_back_to_text_scanning() -> None:
    out = _run(JsonStreamMasker(_masker()), [b"oops <html> " + AWS.encode() + b" </html>"])
    assert AWS.encode() not in out
    assert b"key ****" not in out
    assert REDACTED.encode() in out


def test_text_stream_catches_secret_across_chunks() -> None:
    walker = TextStreamMasker(_masker())
    text = f"prefix {AWS} suffix".encode()
    out = b"".join(walker.feed(text[i : i + 3]) for i in range(0, len(text), 3)) + walker.close()
    assert out == f"prefix {REDACTED} suffix".encode()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 19])
def test_lookbehind_masks_a_secret_split_across_deltas(size: int) -> None:
    channel = TextChannel(_masker())
    text = f"the key is {AWS} and a token sk-{'a' * 24} done."
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    out = "".join(channel.feed(piece) for piece in pieces) + channel.flush()
    assert AWS not in out
    assert "sk-aaaa" not in out
    assert out == f"the key is {REDACTED} and a token {REDACTED} done."


def test_lookbehind_releases_plain_text_at_once() -> None:
    channel = TextChannel(_masker())
    assert channel.feed("hello world ") == "hello world "
    assert channel.feed("AK") == ""  # may be the start of an AWS key
    assert channel.feed("IS wonderful ") == "AKIS wonderful "


def test_lookbehind_overflow_is_redacted_not_leaked() -> None:
    masker = _masker()
    channel = TextChannel(masker, window=64)
    out = channel.feed("-----BEGIN PRIVATE KEY-----\n" + "Q" * 200)
    assert "QQQQ" not in out
    assert out == REDACTED
    assert masker.found["overflow"] == 1


def test_literal_credential_masked_across_pieces() -> None:
    channel = TextChannel(body_masker((), ["upstream-secret-value"]))
    out = channel.feed("x upstream-sec") + channel.feed("ret-value y") + channel.flush()
    assert out == f"x {MARK} y"


def _openai_events(pieces: list[str]) -> bytes:
    out = []
    for piece in pieces:
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
        out.append(f"data: {json.dumps(chunk)}\n\n")
    out.append('data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
    out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def _contents(stream: bytes) -> tuple[str, int]:
    text, events = "", 0
    for block in stream.split(b"\n\n"):
        if not block.startswith(b"data: ") or block == b"data: [DONE]":
            continue
        events += 1
        data = json.loads(block[6:])
        for choice in data.get("choices", []):
            text += choice.get("delta", {}).get("content", "")
    return text, events


def test_sse_openai_secret_split_across_events() -> None:
    text = f"Here: {AWS}. Bye"
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
    masker = SseMasker("openai.chat", _masker())
    raw = _openai_events(pieces)
    out = b"".join(masker.feed(raw[i : i + 9]) for i in range(0, len(raw), 9)) + masker.close()
    content, events = _contents(out)
    assert content == f"Here: {REDACTED}. Bye"
    assert events == len(pieces) + 1  # one event out per event in
    assert out.endswith(b"data: [DONE]\n\n")


def test_sse_flush_before_finish_event() -> None:
    masker = SseMasker("openai.chat", _masker())
    out = masker.feed(_openai_events(["ends with AK"]))
    content, events = _contents(out)
    assert content == "ends with AK"
    assert events == 3


def test_sse_anthropic_blocks() -> None:
    text = f"secret {AWS}!"
    events = [
        (
            "message_start",
            {"type": "message_start", "message": {"model": "c", "usage": {"input_tokens": 3}}},
        ),
    ]
    events += [
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text[i : i + 3]},
            },
        )
        for i in range(0, len(text), 3)
    ]
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0})]
    raw = "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()
    out = SseMasker("anthropic.messages", _masker()).feed(raw)
    texts = [
        json.loads(line[6:])["delta"]["text"]
        for line in out.split(b"\n")
        if line.startswith(b"data: ") and b"text_delta" in line
    ]
    assert "".join(texts) == f"secret {REDACTED}!"
    assert out.count(b"event: content_block_delta") == len(texts)


def test_sse_passthrough_keeps_bytes() -> None:
    raw = b'event: ping\ndata: {"a": 1}\nid: 7\n\n: comment\n\ndata: plain text\n\n'
    masker = SseMasker("", _masker())
    assert masker.feed(raw) + masker.close() == raw


def test_sse_splitter_waits_on_cr() -> None:
    splitter = SseSplitter(1000)
    assert splitter.feed(b"data: a\r\n\r") == []
    assert splitter.feed(b"\ndata: b\r\n\r\n") == [b"data: a\r\n\r\n", b"data: b\r\n\r\n"]


def test_literal_filter_releases_at_once_and_catches_split_secrets() -> None:
    from wardgate_http.body import LiteralFilter

    literal = LiteralFilter((b"sekret-value",))
    assert literal.feed(b"data: a\n\n") == b"data: a\n\n"  # nothing held: event by event
    out = literal.feed(b"x sekret-") + literal.feed(b"value y") + literal.close()
    assert out == f"x {MARK} y".encode()
