"""Telling reviewers a command waits: webhooks (Slack-compatible or generic JSON).

Deliveries run in a background task with bounded retries, so a slow or broken
webhook never delays the hold, the decision or any other connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from wardgate.eventlog import EventLog
from wardgate.reviews.model import Review

MAX_QUEUE = 1000


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    format: str = "generic"  # "slack" | "generic"
    headers: Mapping[str, str] = field(default_factory=dict)


def slack_body(review: Review, link: str) -> dict[str, Any]:
    request = review.request
    statement = request.statement if len(request.statement) <= 1500 else request.statement[:1500]
    text = (
        f":lock: *wardgate review {review.id}* — `{request.requester}` on `{request.resource}` "
        f"({request.kind}, rule `{request.rule}`)\n```{statement}```\n"
        f"Approve or deny: {link} · `wardgate reviews approve {review.id}`"
    )
    return {"text": text}


def generic_body(review: Review, link: str) -> dict[str, Any]:
    return {"event": "review_requested", "url": link, "review": review.to_json()}


class Notifier:
    """One queue and one worker per webhook: a dead receiver delays only itself."""

    def __init__(
        self,
        webhooks: tuple[Webhook, ...],
        log: EventLog,
        client: httpx.AsyncClient | None = None,
        attempts: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self._webhooks = webhooks
        self._log = log
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self._queues: list[asyncio.Queue[dict[str, Any]]] = [
            asyncio.Queue(MAX_QUEUE) for _ in webhooks
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if self._webhooks and not self._tasks:
            self._client = self._client or httpx.AsyncClient(timeout=5.0)
            self._tasks = [
                asyncio.create_task(self._run(hook, queue))
                for hook, queue in zip(self._webhooks, self._queues, strict=True)
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    def review_requested(self, review: Review, link: str) -> None:
        for hook, queue in zip(self._webhooks, self._queues, strict=True):
            body = (
                slack_body(review, link) if hook.format == "slack" else generic_body(review, link)
            )
            try:
                queue.put_nowait(body)
            except asyncio.QueueFull:
                self._log.emit("review_notify_dropped", level="error", review=review.id)

    async def _run(self, hook: Webhook, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            body = await queue.get()
            try:
                await self._deliver(hook, body)
            except Exception as exc:  # one bad delivery must not stop every later one
                self._log.emit("review_notify_error", level="error", error=type(exc).__name__)

    async def _deliver(self, hook: Webhook, body: dict[str, Any]) -> None:
        assert self._client is not None
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.post(hook.url, json=body, headers=dict(hook.headers))
                if response.status_code < 500:
                    if response.status_code >= 400:
                        self._log.emit(
                            "review_notify_rejected", level="warning", status=response.status_code
                        )
                    return
            except httpx.HTTPError as exc:
                self._log.emit(
                    "review_notify_failed", level="warning", attempt=attempt, error=str(exc)
                )
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        host = httpx.URL(hook.url).host  # the full URL of a Slack hook is a secret
        self._log.emit("review_notify_gave_up", level="error", host=host)
