"""Known LLM API shapes: what policy may see in a request and what evidence to keep.

OpenAI-style (`/v1/chat/completions`, `/v1/completions`, `/v1/responses`,
`/v1/embeddings`) and Anthropic-style (`/v1/messages`) endpoints are recognised by
the end of the request path, so a gateway prefix in front of them does not
matter. For those, the request's `model` and `stream` become command attributes,
and the evidence of the exchange — model, prompt messages (masked, truncated),
token usage, finish reason — is collected from the request, the response JSON or
the streamed events. Streamed text fields are named here too, so the SSE masker
knows which text a model is assembling across events (`sse.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wardgate_http.masker import Path

APIS: tuple[tuple[str, str], ...] = (  # (path suffix, api name), first match wins
    ("/chat/completions", "openai.chat"),
    ("/completions", "openai.completions"),
    ("/responses", "openai.responses"),
    ("/embeddings", "openai.embeddings"),
    ("/messages", "anthropic.messages"),
)
PROMPT_FIELDS = ("messages", "prompt", "input", "system", "instructions")
MAX_EVIDENCE_CHARS = 4000


def detect_api(path: str) -> str:
    trimmed = path.rstrip("/")
    for suffix, name in APIS:
        if trimmed.endswith(suffix):
            return name
    return ""


def request_attributes(api: str, body: Any) -> dict[str, str]:
    """Facts from a JSON request body that a rule may match on (docs/http.md)."""
    attributes = {"api": api} if api else {}
    if isinstance(body, dict):
        for key in ("model", "stream"):
            value = body.get(key)
            if isinstance(value, str | bool | int | float) and value is not None:
                attributes[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return attributes


# -- streamed text fields: (channel key, path of the text inside the event's data) ----------

Channel = tuple[Any, ...]
_ANTHROPIC_DELTAS = {"text_delta": "text", "input_json_delta": "partial_json"}
_ANTHROPIC_DELTAS["thinking_delta"] = "thinking"


def stream_texts(api: str, event: str, data: Any) -> list[tuple[Channel, Path]]:
    """The text pieces one streamed event adds to which channel."""
    if not isinstance(data, dict):
        return []
    if api in ("openai.chat", "openai.completions"):
        inner = ("delta", "content") if api == "openai.chat" else ("text",)
        return _choice_texts(data, inner)
    if api == "anthropic.messages" and data.get("type") == "content_block_delta":
        delta = data.get("delta") or {}
        key = _ANTHROPIC_DELTAS.get(str(delta.get("type")))
        if key and isinstance(delta.get(key), str):
            return [(("block", data.get("index")), ("delta", key))]
    kind = str(data.get("type", ""))
    if api == "openai.responses" and kind.endswith(".delta") and isinstance(data.get("delta"), str):
        return [(("item", data.get("item_id"), data.get("content_index")), ("delta",))]
    return []


def _choice_texts(data: dict[str, Any], inner: Path) -> list[tuple[Channel, Path]]:
    found: list[tuple[Channel, Path]] = []
    for position, choice in enumerate(data.get("choices") or []):
        value: Any = choice
        for part in inner:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str):
            found.append((("choice", choice.get("index", position)), ("choices", position, *inner)))
    return found


def stream_ends(api: str, event: str, data: Any) -> list[Channel] | None:
    """Channels this event closes (flush them first); None means all of them."""
    if data == "[DONE]":
        return None
    if not isinstance(data, dict):
        return []
    kind = str(data.get("type", ""))
    if api == "anthropic.messages":
        if kind == "content_block_stop":
            return [("block", data.get("index"))]
        return None if kind in ("message_delta", "message_stop") else []
    if api == "openai.responses":
        if kind.endswith(".done"):
            return [("item", data.get("item_id"), data.get("content_index"))]
        return None if kind in ("response.completed", "response.failed") else []
    return [
        ("choice", choice.get("index", position))
        for position, choice in enumerate(data.get("choices") or [])
        if isinstance(choice, dict) and choice.get("finish_reason")
    ]


# -- evidence -----------------------------------------------------------------------------


@dataclass(slots=True)
class LlmEvidence:
    """What the audit record says about one model call (never the model's output text)."""

    api: str
    model: str = ""
    prompt: Any = None
    stream: bool = False
    usage: dict[str, int] = field(default_factory=dict)
    finish_reasons: list[str] = field(default_factory=list)
    response_model: str = ""

    def request(self, body: Any) -> None:
        """The request's JSON body, already masked by the detectors (`Exchange`)."""
        if not isinstance(body, dict):
            return
        self.model = str(body.get("model") or "")
        self.stream = bool(body.get("stream"))
        self.prompt = _truncate({k: body[k] for k in PROMPT_FIELDS if k in body})

    def response(self, data: Any) -> None:
        """A whole JSON response, or one streamed event's data."""
        if not isinstance(data, dict):
            return
        message = data.get("message") or data.get("response")
        if isinstance(message, dict):  # anthropic message_start, openai response.completed
            self.response(message)
        self.response_model = str(data.get("model") or self.response_model)
        self._usage(data.get("usage"))
        for choice in data.get("choices") or []:
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self.finish_reasons.append(str(choice["finish_reason"]))
        for source in (data, data.get("delta")):
            if isinstance(source, dict) and source.get("stop_reason"):
                self.finish_reasons.append(str(source["stop_reason"]))
        if data.get("object") == "response" and data.get("status"):
            self.finish_reasons.append(str(data["status"]))

    def _usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for key, value in usage.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    self.usage[key] = max(self.usage.get(key, 0), value)

    def fields(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "model": self.response_model or self.model,
            "requested_model": self.model,
            "stream": self.stream,
            "prompt": self.prompt,
            "usage": dict(self.usage),
            "finish_reason": self.finish_reasons[-1] if self.finish_reasons else "",
        }


def _truncate(value: Any, budget: list[int] | None = None) -> Any:
    budget = budget if budget is not None else [MAX_EVIDENCE_CHARS]
    if isinstance(value, str):
        keep = max(0, min(len(value), budget[0]))
        budget[0] -= keep
        return value if keep == len(value) else value[:keep] + "…"
    if isinstance(value, dict):
        return {k: _truncate(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_truncate(v, budget) for v in value]
    return value
