"""Building the review service from configuration (used by the runtime)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from wardgate.config.model import WardgateConfig
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.reviews.feed import ChangeFeed, LocalFeed, PostgresFeed
from wardgate.reviews.notify import Notifier, Webhook
from wardgate.reviews.repository import MIGRATIONS, ReviewRepository, StoreProvider
from wardgate.reviews.service import ReviewAudit, ReviewService, ReviewSettings
from wardgate.store import Migration


class MigratingStore(StoreProvider, Protocol):
    """`wardgate.store.LazyStore`: a provider that takes each subsystem's migrations."""

    def add_migrations(self, migrations: Iterable[Migration]) -> None: ...


def build_review_service(
    config: WardgateConfig,
    state: MigratingStore,
    metrics: Metrics,
    log: EventLog,
    audit: ReviewAudit | None = None,
) -> ReviewService:
    state.add_migrations(MIGRATIONS)
    settings = config.reviews
    url = config.state.url
    feed: ChangeFeed = (
        PostgresFeed(url) if url.startswith(("postgresql:", "postgres:")) else LocalFeed()
    )
    webhooks = tuple(Webhook(w.url, w.format, w.headers) for w in settings.notify)
    return ReviewService(
        ReviewRepository(state),
        ReviewSettings(
            public_url=settings.public_url or "",
            poll_interval=settings.poll_interval,
            max_grant=settings.max_grant,
        ),
        Notifier(webhooks, log),
        metrics,
        log,
        feed=feed,
        audit=audit,
    )
