"""`ConfigReloader`: a good file swaps policy and tokens together; a bad one changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import textwrap
from pathlib import Path
from typing import Any

from wardgate.config.loader import LoadedConfig, load_config
from wardgate.eventlog import EventLog
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.tokens import StaticTokenVerifier
from wardgate.plugins import PluginRegistry
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import PolicySwitch, RulePolicy
from wardgate.runtime.reload import ConfigReloader, restart_required
from wardgate.seam import Action, Command, Identity, PresentedCredential

AGENT = Identity("a", frozenset({"agents"}))
DELETE = Command("query", "DELETE FROM t WHERE id = 1", "postgres")


def config(allow: str, token: str = "first", extra: str = "") -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return (
        textwrap.dedent(f"""\
        identity:
          tokens: [{{name: {token}, groups: [agents], sha256: "{digest}"}}]
        policy:
          rules:
            - {{name: agents, when: {{groups: [agents]}}, allow: [{allow}]}}
        """)
        + extra
    )


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "wardgate.yaml"
        self.path.write_text(config("read"))
        loaded = self.load(self.path)
        classifier = CommandClassifier()
        self.policy = PolicySwitch(RulePolicy(loaded.config.policy, loaded.version, classifier))
        self.authenticator = Authenticator(StaticTokenVerifier(loaded.config.identity.tokens))
        self.stream = io.StringIO()
        self.reloader = ConfigReloader(
            loaded, self.policy, classifier, self.authenticator, EventLog(self.stream), self.load
        )

    @staticmethod
    def load(path: Path) -> LoadedConfig:
        return load_config(path, plugins=PluginRegistry({}))

    def reload(self, text: str) -> bool:
        self.path.write_text(text)
        return asyncio.run(self.reloader.reload())

    def events(self, name: str) -> list[dict[str, Any]]:
        records = [json.loads(line) for line in self.stream.getvalue().splitlines()]
        return [record for record in records if record["event"] == name]

    def action(self) -> Action:
        return self.policy.evaluate(AGENT, "pg", DELETE)[0].action

    def token_ok(self, secret: str) -> bool:
        try:
            asyncio.run(self.authenticator.authenticate(PresentedCredential(secret)))
        except Exception:
            return False
        return True


def test_good_reload_swaps_policy_and_tokens(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    old = h.policy.version
    assert h.action() is Action.DENY
    assert h.token_ok("first")
    assert h.reload(config("read, write", token="second"))
    assert h.action() is Action.ALLOW
    assert h.token_ok("second")
    assert not h.token_ok("first")
    (event,) = h.events("policy_reloaded")
    assert (event["old_version"], event["new_version"]) == (old, h.policy.version)
    assert event["changed"] is True
    assert old != h.policy.version


def test_bad_reload_keeps_the_old_policy_and_names_file_line_key(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    version = h.policy.version
    assert not h.reload(config("read, writes"))
    assert h.action() is Action.DENY
    assert h.policy.version == version
    assert h.token_ok("first")
    (event,) = h.events("reload_failed")
    assert event["level"] == "error"
    assert any(f"{h.path}:5: policy.rules[0].allow" in error for error in event["errors"])
    assert "writes" in " ".join(event["errors"])
    assert not h.events("policy_reloaded")


def test_unreadable_yaml_is_rejected(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    assert not h.reload("policy: [unclosed\n")
    (event,) = h.events("reload_failed")
    assert str(h.path) in event["errors"][0]


def test_sections_that_need_a_restart_are_reported(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    assert h.reload(config("read", extra="logging: {level: debug}\n"))
    (event,) = h.events("reload_restart_required")
    assert event["sections"] == ["logging"]


def test_restart_required_ignores_policy_and_tokens(tmp_path: Path) -> None:
    first = Harness.load(_write(tmp_path, "a.yaml", config("read")))
    second = Harness.load(_write(tmp_path, "b.yaml", config("write", token="other")))
    assert restart_required(first.config, second.config) == []


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
