"""Webhooks: Slack-compatible and generic bodies, retries, giving up, never blocking."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import httpx

from support.review_harness import REQUEST, T0
from wardgate.eventlog import EventLog
from wardgate.reviews.model import Review, ReviewStatus
from wardgate.reviews.notify import Notifier, Webhook, generic_body, slack_body

REVIEW = Review("rv_1", REQUEST, ReviewStatus.PENDING, T0, T0 + 60, "i1")
LINK = "http://gw.test/ui/reviews/rv_1"


def test_slack_body_names_who_what_and_where() -> None:
    text = slack_body(REVIEW, LINK)["text"]
    for part in ("rv_1", "agent-1", "orders", "write", "agents", REQUEST.statement, LINK):
        assert part in text
    assert "wardgate reviews approve rv_1" in text


def test_generic_body_is_the_review() -> None:
    body = generic_body(REVIEW, LINK)
    assert body["event"] == "review_requested"
    assert body["url"] == LINK
    assert body["review"]["statement"] == REQUEST.statement


def _deliver(handler: Any, hooks: tuple[Webhook, ...], wait: float = 1.0) -> list[str]:
    log = io.StringIO()

    async def main() -> None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        notifier = Notifier(hooks, EventLog(log), client=client, attempts=3, backoff=0.01)
        notifier.start()
        started = time.monotonic()
        notifier.review_requested(REVIEW, LINK)
        assert time.monotonic() - started < 0.05  # queued, never awaited by the hold
        await asyncio.sleep(wait)
        await notifier.stop()

    asyncio.run(main())
    return [json.loads(line)["event"] for line in log.getvalue().splitlines()]


def test_each_hook_gets_its_format_and_headers() -> None:
    seen: list[tuple[str, dict[str, Any], str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), json.loads(request.content), request.headers.get("x-k", "")))
        return httpx.Response(200)

    hooks = (
        Webhook("http://hooks.test/slack", "slack"),
        Webhook("http://hooks.test/generic", "generic", {"X-K": "v"}),
    )
    _deliver(handler, hooks, wait=0.1)
    by_url = {url: (body, header) for url, body, header in seen}
    assert "text" in by_url["http://hooks.test/slack"][0]
    assert by_url["http://hooks.test/generic"][0]["review"]["id"] == "rv_1"
    assert by_url["http://hooks.test/generic"][1] == "v"


def test_a_failing_receiver_is_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) == 1 else 200)

    events = _deliver(handler, (Webhook("http://hooks.test/x"),), wait=0.2)
    assert len(calls) == 2
    assert "review_notify_gave_up" not in events


def test_a_dead_receiver_is_given_up_and_logged() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    events = _deliver(handler, (Webhook("http://hooks.test/secret-path"),), wait=0.3)
    assert events.count("review_notify_failed") == 3
    assert events[-1] == "review_notify_gave_up"


def test_a_hanging_receiver_delays_only_itself() -> None:
    delivered: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/hangs":
            await asyncio.sleep(30)
        delivered.append(request.url.path)
        return httpx.Response(200)

    hooks = (Webhook("http://hooks.test/hangs"), Webhook("http://hooks.test/fine", "slack"))
    _deliver(handler, hooks, wait=0.1)
    assert delivered == ["/fine"]
