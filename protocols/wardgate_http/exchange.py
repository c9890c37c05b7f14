"""One request through the gateway: read, decide, forward, stream the answer back.

    head ─▶ target (normalised) ─▶ JSON body read whole when policy or secret
    scanning needs it (≤ max_inspect_bytes) ─▶ session.decide(Command) ─▶ refuse (403
    naming the rule) │ upstream request (credential injected, agent's stripped)
    ─▶ response head ─▶ body filter (mask, observe) chunk by chunk ─▶ evidence,
    session.report ─▶ the last chunk released to the agent

A request body that is not read whole streams to the upstream as it arrives
(`Expect: 100-continue` is answered by wardgate once the request is allowed). The
outcome is reported before the end of the response is released, as the seam asks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import h11

from wardgate.seam import Command, Decision, Outcome, Session
from wardgate_http.errors import ErrorReply, refusal
from wardgate_http.headers import header, is_json
from wardgate_http.literals import Literals, credential_literals
from wardgate_http.llm import LlmEvidence, detect_api, request_attributes
from wardgate_http.masker import BodyMasker, dumps, leaves, mask_tree
from wardgate_http.relay import Relay
from wardgate_http.target import BadTarget, Target, parse_target

if TYPE_CHECKING:
    from wardgate_http.connection import HttpConnection


class Exchange:
    def __init__(self, conn: HttpConnection, session: Session, request: h11.Request) -> None:
        self.conn, self.session, self.request = conn, session, request
        self.settings = conn.settings
        self.method = request.method.decode("ascii", "replace")
        self.body: bytes | None = None  # the request body when read whole
        self.secrets: tuple[str, ...] = ()
        self.evidence: LlmEvidence | None = None
        self.prompt: Any = None  # the inspected JSON body, detectors applied (for evidence)
        self.literals = Literals(credential_literals(session.credential.headers))
        self._plan = session.masking_plan("", ())  # the core's `masking:` rules for documents

    def body_masker(self, response: bool) -> BodyMasker:
        """Responses: field rules, detectors, the credential; requests: detectors only."""
        plan = self._plan
        if response:
            return BodyMasker(
                plan.masker, fields=plan.fields, detectors=plan.detectors, literals=self.literals
            )
        return BodyMasker(plan.masker, fields=False, detectors=plan.detectors)

    async def run(self) -> bool:
        """Serve the request; False when the connection cannot carry another one."""
        self._end_empty_body()
        target = self._target()
        upgrade = self._upgrade()
        api = detect_api(target.path)
        attributes = {"method": self.method, "path": target.path}
        await self._inspect_body(api, attributes)
        decision = await self.session.decide(
            Command("request", f"{self.method} {target.path}", attributes=attributes)
        )
        if not decision.allowed:
            await self._refused(decision, _decision_reply(decision))
            return self._body_read
        if self.secrets and self.settings.request_secrets == "deny":
            message = f"the request body contains a secret ({', '.join(self.secrets)})"
            await self._refused(
                decision, ErrorReply(403, "secret_in_request", f"wardgate: {message}")
            )
            return self._body_read
        if api:
            self.evidence = LlmEvidence(api)
            self.evidence.request(self.prompt)
        return await Relay(self, decision, target, upgrade).run()

    def _end_empty_body(self) -> None:
        """A request without a body: take h11's EndOfMessage now (it needs no I/O)."""
        headers = self.request.headers
        length = header(headers, b"content-length")
        if header(headers, b"transfer-encoding") is None and length in (None, b"0"):
            event = self.conn.client.conn.next_event()
            assert isinstance(event, h11.EndOfMessage)

    @property
    def _body_read(self) -> bool:
        return self.conn.client.conn.their_state is not h11.SEND_BODY

    # -- request -------------------------------------------------------------------------

    def _target(self) -> Target:
        if self.method == "CONNECT":
            raise refusal(
                405, "method_not_allowed", "wardgate is a reverse proxy: CONNECT is refused"
            )
        try:
            return parse_target(self.request.target.decode("ascii", "replace"))
        except BadTarget as exc:
            raise refusal(400, "bad_request", f"wardgate: {exc}") from None

    def _upgrade(self) -> str:
        value = header(self.request.headers, b"upgrade")
        if value is None:
            return ""
        token = value.decode("latin-1").split(",")[0].split("/")[0].strip().lower()
        if token in self.settings.upgrades:
            return token
        if token == "h2c":
            return ""  # RFC 9113 §3.1: a server may ignore h2c; we stay on HTTP/1.1
        raise refusal(
            403, "upgrade_refused", f"wardgate: upgrading to {token!r} is not allowed here"
        )

    async def _inspect_body(self, api: str, attributes: dict[str, str]) -> None:
        """Read a JSON body whole (bounded) for policy attributes and secret scanning."""
        if not self._inspectable():
            return
        self.body = await self._read_whole(self.settings.max_inspect_bytes)
        try:
            parsed = json.loads(self.body) if self.body else None
        except ValueError:
            return
        attributes.update(request_attributes(api, parsed))
        self.prompt = self._request_secrets(parsed, attributes)

    def _request_secrets(self, parsed: Any, attributes: dict[str, str]) -> Any:
        """Detectors over an inspected body; `request_secrets: mask` forwards it masked.

        Returns the body as evidence may keep it (masked unless nothing was found).
        """
        masker = self.body_masker(response=False)
        names = sorted({name for leaf in leaves(parsed) for name in masker.detect(leaf)})
        if not names:
            return parsed
        self.secrets = tuple(names)
        attributes["secrets"] = ",".join(names)
        action = self.settings.request_secrets
        self.session.event("request_secrets", detectors=names, action=action)
        if action == "deny":
            return parsed  # refused after the decision; nothing is forwarded or kept
        masked, changed = mask_tree(parsed, masker)
        if changed and action == "mask":
            self.body = dumps(masked)
        return masked

    def _inspectable(self) -> bool:
        headers = self.request.headers
        if not is_json(headers) or self.conn.client.conn.their_state is not h11.SEND_BODY:
            return False
        length = header(headers, b"content-length")
        return length is None or int(length) <= self.settings.max_inspect_bytes

    async def _read_whole(self, limit: int) -> bytes:
        client = self.conn.client
        if client.conn.they_are_waiting_for_100_continue:
            await client.send(h11.InformationalResponse(status_code=100, headers=[]))
        parts: list[bytes] = []
        size = 0
        while True:
            event = await client.next_body_event()
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            size += len(event.data)
            if size > limit:
                raise refusal(
                    413,
                    "body_too_large",
                    f"a JSON body over {limit} bytes cannot be inspected",
                    close=True,
                )
            parts.append(bytes(event.data))

    # -- refusals ------------------------------------------------------------------------

    async def _refused(self, decision: Decision, reply: ErrorReply) -> None:
        self.session.event("refused", command_id=decision.command_id, reason=reply.message)
        await self.session.report(
            Outcome(decision.command_id, error=reply.message, status=str(reply.status))
        )
        reply = ErrorReply(
            reply.status,
            reply.type,
            reply.message,
            decision.rule,
            decision.command_id,
            close=not self._body_read,
        )
        client = self.conn.client
        await client.reply(reply)


def _decision_reply(decision: Decision) -> ErrorReply:
    kind = "review_required" if decision.action.value == "review" else "denied"
    message = f"wardgate: refused by rule {decision.rule!r}"
    if decision.reason:
        message += f": {decision.reason}"
    return ErrorReply(403, kind, message)
