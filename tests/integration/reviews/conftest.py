"""One review gateway for the session: machine PostgreSQL and MariaDB, writes held for `dba`.

Resources `pg` and `my` point at a scratch database (`support.reviews.Scratch`);
webhooks go to a local receiver. Tests that stop or duplicate a gateway start
their own with `gateway_factory`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.gateway import Gateway
from support.reviews import (
    ReviewTokens,
    Scratch,
    WebhookReceiver,
    review_policy,
    review_resources,
)


@pytest.fixture(scope="session")
def review_tokens() -> ReviewTokens:
    return ReviewTokens()


@pytest.fixture(scope="session")
def scratch(machine_pg: Any) -> Iterator[Scratch]:
    scratch = Scratch(lambda db: machine_pg.dsn(db=db)).create()
    yield scratch
    scratch.drop()


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def resources(scratch: Scratch, machine_pg: Any) -> list[Any]:
    return review_resources(scratch, machine_pg.host, machine_pg.port, machine_pg.user)


@pytest.fixture(scope="session")
def review_gateway(
    session_gateway_factory: Any,
    resources: list[Any],
    review_tokens: ReviewTokens,
    webhooks: WebhookReceiver,
) -> Gateway:
    reviews = {"poll_interval": 0.2, "notify": webhooks.hooks()}
    extra = {"policy": review_policy(), "reviews": reviews}
    gateway: Gateway = session_gateway_factory(
        resources, tokens=review_tokens.all(), extra_config=extra
    )
    return gateway
