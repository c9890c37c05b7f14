"""SIGHUP reloads the policy of a running gateway; `wardgate check` names file:line:key.

A good file takes effect in already-open sessions at their next command; a bad
file is rejected with `reload_failed` (file:line: key: message) and the old policy
stays in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from click.testing import CliRunner
from psycopg import errors

from support.gateway import Gateway, Token, pg_resource
from wardgate.cli.main import cli

from .conftest import TABLE

READ_ONLY: dict[str, Any] = {
    "default": "deny",
    "rules": [{"name": "agents", "when": {"groups": ["agents"]}, "allow": ["read", "session"]}],
}


def _write(gateway: Gateway, policy: Any) -> None:
    gateway.config["policy"] = policy
    gateway.config_path.write_text(yaml.safe_dump(gateway.config, sort_keys=False))


def test_sighup_swaps_the_policy_or_keeps_it(
    gateway_factory: Any, machine_pg: Any, pg_policy_gateway: Gateway, agent_token: Token
) -> None:
    resource = pg_resource("pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user)
    gateway: Gateway = gateway_factory([resource], extra_config={"policy": READ_ONLY})
    update = f"UPDATE {TABLE} SET name = name WHERE id = 1"
    with psycopg.connect(gateway.dsn("pg"), autocommit=True) as conn:
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(update)
        start = len(gateway.events())
        wider = {**READ_ONLY, "rules": [{**READ_ONLY["rules"][0], "allow": ["read", "write"]}]}
        _write(gateway, wider)
        gateway.reload()
        event = gateway.wait_for_event(lambda r: r.get("event") == "policy_reloaded", start=start)
        assert event["old_version"] != event["new_version"]
        conn.execute(update)  # the open session follows the new policy
        start = len(gateway.events())
        broken = {**READ_ONLY, "rules": [{**READ_ONLY["rules"][0], "allow": ["reed"]}]}
        _write(gateway, broken)
        gateway.reload()
        failed = gateway.wait_for_event(lambda r: r.get("event") == "reload_failed", start=start)
        assert any(
            f"{gateway.config_path}:" in error and "policy.rules[0].allow" in error
            for error in failed["errors"]
        ), failed
        conn.execute(update)  # the previous (good) policy is still in force
        decisions = [e for e in gateway.events("command") if e.get("decision")]
        assert {e["policy_version"] for e in decisions} == {
            event["old_version"],
            event["new_version"],
        }
    assert gateway.running


@pytest.mark.parametrize(
    ("policy", "key", "word"),
    [
        ({"rules": [{"name": "r", "allow": ["raed"]}]}, "policy.rules[0].allow", "raed"),
        ({"rules": [{"name": "r", "deny": ["no_were"]}]}, "policy.rules[0].deny", "no_were"),
        ({"rules": [{"name": "r", "alow": ["read"]}]}, "policy.rules[0].alow", "alow"),
        ({"rules": [{"name": "r", "deny": [{"kinds": ["dll"]}]}]}, "policy.rules[0].deny", "dll"),
        ({"rules": [{"name": "r", "when": {"group": ["a"]}}]}, "policy.rules[0].when.group", ""),
    ],
)
def test_check_rejects_unknown_kinds_flags_and_keys(
    tmp_path: Path, policy: dict[str, Any], key: str, word: str
) -> None:
    path = tmp_path / "wardgate.yaml"
    path.write_text(yaml.safe_dump({"policy": policy}, sort_keys=False))
    result = CliRunner().invoke(cli, ["check", "-c", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.stderr
    assert key in result.stderr
    assert word in result.stderr
