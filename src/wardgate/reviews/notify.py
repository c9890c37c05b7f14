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
        self._queue: asyncio.Queue[tuple[Webhook, dict[str, Any]]] = asyncio.Queue(MAX_QUEUE)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._webhooks and self._task is None:
            self._client = self._client or httpx.AsyncClient(timeout=5.0)
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    def review_requested(self, review: Review, link: str) -> None:
        for hook in self._webhooks:
            body = (
                slack_body(review, link) if hook.format == "slack" else generic_body(review, link)
            )
            try:
                self._queue.put_nowait((hook, body))
            except asyncio.QueueFull:
                self._log.emit("review_notify_dropped", level="error", review=review.id)

    async def _run(self) -> None:
        while True:
            hook, body = await self._queue.get()
            try:
                await self._deliver(hook, body)
            except Exception as exc:  # one bad hook must not stop every later delivery
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
            await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        host = httpx.URL(hook.url).host  # the full URL of a Slack hook is a secret
        self._log.emit("review_notify_gave_up", level="error", host=host)
