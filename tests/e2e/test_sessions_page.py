"""The session view under /ui/sessions in headless Chromium: list, header, transcript
as the agent saw it, and the session's audit records; reached from the reviews page."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from support.gateway import Gateway, Token, pg_resource
from wardgate.recording.catalog import list_sessions
from wardgate.recording.reader import read_recording

pytestmark = [pytest.mark.slow, pytest.mark.integration]

SCREENSHOT = os.environ.get("WARDGATE_TEST_SCREENSHOT", "")  # a path: save the session view
QUERY = "SELECT 'hello-from-the-agent' AS greeting, 6 * 7 AS answer"


@pytest.fixture(scope="module")
def recorded(
    session_gateway_factory: Any, machine_pg: Any, agent_token: Token
) -> tuple[Gateway, str]:
    """A gateway with audit and recording, and the id of one finished psql session."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    resource = pg_resource("pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user)
    extra = {"audit": {"sinks": [], "fsync_interval": "20ms"}, "recording": {"dir": "recordings"}}
    gateway: Gateway = session_gateway_factory([resource], extra_config=extra)
    argv = ["psql", "-X", "-A", gateway.dsn("pg"), "-c", QUERY]
    subprocess.run(argv, capture_output=True, timeout=30, check=True)
    return gateway, finished_session(gateway.dir / "recordings")


def finished_session(directory: Path) -> str:
    deadline = time.monotonic() + 10
    while True:
        found = list_sessions(directory)
        if found and read_recording(directory / found[0].file).complete:
            return found[0].id
        assert time.monotonic() < deadline, "recording not finished"
        time.sleep(0.05)


def sign_in(page: Any, url: str, token: Token) -> None:
    page.goto(url)
    page.fill("#token", token.secret)
    page.click("#login button[type=submit]")


def test_list_and_session_view(
    page: Any, recorded: tuple[Gateway, str], agent_token: Token
) -> None:
    gateway, session = recorded
    page.set_viewport_size({"width": 1200, "height": 1400})
    sign_in(page, gateway.admin_url + "/ui/sessions", agent_token)
    row = page.locator(f"#session-{session}")
    row.wait_for()
    assert "agent-1" in row.inner_text()
    assert "pg · postgres" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"**/ui/sessions/{session}")
    header = page.locator("#header")
    header.wait_for()
    assert session in header.inner_text()
    assert page.locator("#digest").inner_text() == "ok"
    commands = page.locator("#transcript pre.command").all_inner_texts()
    assert any(QUERY in text for text in commands)
    answers = page.locator("#transcript .frame.s2c pre.text").all_inner_texts()
    assert any("hello-from-the-agent" in text and "42" in text for text in answers)
    command = page.locator("#audit tr[data-type=command]")
    assert "allow" in command.inner_text()
    assert "select ? as greeting" in command.inner_text().lower()
    assert page.locator("#audit tr[data-type=session_start]").count() == 1
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)


def test_reached_from_the_reviews_page_without_signing_in_again(
    page: Any, recorded: tuple[Gateway, str], agent_token: Token
) -> None:
    gateway, session = recorded
    sign_in(page, gateway.admin_url + "/ui/", agent_token)
    page.click("header nav a[href='/ui/sessions']")
    page.locator(f"#session-{session}").wait_for()  # the token carried over in the tab


def test_a_wrong_token_is_told_so(page: Any, recorded: tuple[Gateway, str]) -> None:
    gateway, session = recorded
    sign_in(page, f"{gateway.admin_url}/ui/sessions/{session}", Token("x", (), "wrong"))
    page.locator("#message.error").wait_for()
    assert page.locator("#header").count() == 0
