"""Refusals as HTTP responses: a status, a JSON body clients (and the openai SDK) read.

The body has the shape OpenAI- and Anthropic-style clients already surface:
``{"error": {"type": …, "message": …, "rule": …}}``. A refusal never echoes a
token, a header value or a body the client sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wardgate.seam import AccessDenied, AuthenticationFailed, GateError, UpstreamUnavailable


@dataclass(frozen=True, slots=True)
class ErrorReply:
    status: int
    type: str
    message: str
    rule: str = ""
    command_id: str = ""
    close: bool = False  # the connection cannot carry another request afterwards
    headers: tuple[tuple[str, str], ...] = ()

    def body(self) -> bytes:
        error: dict[str, str] = {"type": self.type, "message": self.message}
        if self.rule:
            error["rule"] = self.rule
        if self.command_id:
            error["command_id"] = self.command_id
        return json.dumps({"error": error}, separators=(",", ":")).encode()


class HttpRefusal(Exception):
    """Raised anywhere in the plugin to answer with `reply` and count a refusal."""

    def __init__(self, reply: ErrorReply, category: str = "protocol") -> None:
        super().__init__(reply.message)
        self.reply = reply
        self.category = category


def refusal(
    status: int, kind: str, message: str, category: str = "protocol", *, close: bool = False
) -> HttpRefusal:
    return HttpRefusal(ErrorReply(status, kind, message, close=close), category)


_GATE_STATUS: tuple[tuple[type[GateError], int, str], ...] = (
    (AuthenticationFailed, 401, "authentication_failed"),
    (AccessDenied, 403, "access_denied"),
    (UpstreamUnavailable, 503, "upstream_unavailable"),
)


def gate_reply(exc: GateError) -> ErrorReply:
    """The response for a refusal the core raised (by isinstance, so subclasses map too)."""
    for kind, status, name in _GATE_STATUS:
        if isinstance(exc, kind):
            headers = (("www-authenticate", 'Bearer realm="wardgate"'),) if status == 401 else ()
            return ErrorReply(status, name, f"wardgate: {exc.message}", headers=headers)
    return ErrorReply(403, "access_denied", f"wardgate: {exc.message}")
