"""The reviewers' page in headless Chromium: Debian's /usr/bin/chromium driven by Playwright.

Playwright never downloads a browser here: it launches the system Chromium by
path. `scripts/install-system-deps` installs it. The review gateway is the same
as tests/integration/reviews' (machine PostgreSQL and MariaDB, writes held).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.gateway import Gateway
from support.reviews import ReviewTokens, Scratch, review_policy, review_resources

CHROMIUM = Path(os.environ.get("WARDGATE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped on purpose: while Playwright's sync API is active, the main thread
    counts as running an event loop, so `asyncio.run` in later tests would fail."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps (Debian chromium)")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()
    playwright.stop()
    # The sync API runs its loop inside a greenlet and leaves this thread marked as
    # running it; later tests that call asyncio.run() would fail. Clear the mark.
    asyncio.events._set_running_loop(None)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def review_tokens() -> ReviewTokens:
    return ReviewTokens()


@pytest.fixture(scope="session")
def scratch(machine_pg: Any) -> Iterator[Scratch]:
    scratch = Scratch(lambda db: machine_pg.dsn(db=db)).create()
    yield scratch
    scratch.drop()


@pytest.fixture(scope="session")
def review_gateway(
    session_gateway_factory: Any, scratch: Scratch, machine_pg: Any, review_tokens: ReviewTokens
) -> Gateway:
    resources = review_resources(scratch, machine_pg.host, machine_pg.port, machine_pg.user)
    extra = {"policy": review_policy(), "reviews": {"poll_interval": 0.2}}
    gateway: Gateway = session_gateway_factory(
        resources, tokens=review_tokens.all(), extra_config=extra
    )
    return gateway
