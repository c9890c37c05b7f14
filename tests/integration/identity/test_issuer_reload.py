"""SIGHUP reloads the OIDC issuers of a running gateway: an added issuer's tokens open
sessions without a restart, a removed issuer's are refused at once, and an unchanged
issuer keeps its cached keys."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from support.gateway import Gateway, Token, pg_resource
from support.oidc_issuer import OidcIssuer

from .conftest import identity_extra, oidc_config


def connects(gateway: Gateway, token: str) -> bool:
    refusal = ""
    try:
        psycopg.connect(gateway.dsn("pg", token=token), connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        refusal = str(exc)
    assert not refusal or "authentication failed" in refusal, refusal
    return not refusal


def key_fetches(gateway: Gateway, issuer: OidcIssuer) -> float:
    text = httpx.get(gateway.admin_url + "/metrics").text
    pattern = (
        rf'wardgate_oidc_key_fetches_total{{[^}}]*issuer="{re.escape(issuer.url)}"[^}}]*}} (\S+)'
    )
    return sum(float(value) for value in re.findall(pattern, text))


def reload_with(gateway: Gateway, oidc: list[dict[str, Any]]) -> dict[str, Any]:
    gateway.config["identity"]["oidc"] = oidc
    gateway.config_path.write_text(yaml.safe_dump(gateway.config, sort_keys=False))
    start = len(gateway.events())
    gateway.reload()
    return gateway.wait_for_event(lambda r: r.get("event") == "policy_reloaded", start=start)


def test_sighup_adds_and_removes_issuers(
    gateway_factory: Any, issuer: OidcIssuer, ci_issuer: OidcIssuer, agent_token: Token
) -> None:
    human = oidc_config(issuer, groups_claim="groups")
    ci = oidc_config(ci_issuer)
    gateway = gateway_factory(
        [pg_resource("pg")], extra_config=identity_extra([human], [agent_token], None)
    )
    human_token = issuer.mint("alice", ["agents"])
    ci_token = ci_issuer.mint("build-7", ["agents"])
    assert connects(gateway, human_token)
    assert not connects(gateway, ci_token)  # not trusted yet
    fetched = key_fetches(gateway, issuer)

    added = reload_with(gateway, [human, ci])
    assert added["issuers_changed"] == [ci_issuer.url.rstrip("/")]
    assert connects(gateway, ci_token)  # no restart
    assert connects(gateway, human_token)
    assert key_fetches(gateway, issuer) == fetched  # unchanged issuer: keys kept
    assert (
        not gateway.events("reload_restart_required")[-1:]
        or "identity.oidc" not in (gateway.events("reload_restart_required")[-1]["sections"])
    )

    removed = reload_with(gateway, [ci])
    assert removed["issuers_changed"] == [issuer.url.rstrip("/")]
    assert not connects(gateway, human_token)  # refused at once
    assert connects(gateway, ci_token)
    assert gateway.running


@pytest.mark.parametrize("bad", [[{"issuer": "", "audience": "x"}]])
def test_a_bad_issuer_list_keeps_the_old_one(
    gateway_factory: Any, issuer: OidcIssuer, agent_token: Token, bad: list[dict[str, Any]]
) -> None:
    human = oidc_config(issuer, groups_claim="groups")
    gateway = gateway_factory(
        [pg_resource("pg")], extra_config=identity_extra([human], [agent_token], None)
    )
    gateway.config["identity"]["oidc"] = bad
    gateway.config_path.write_text(yaml.safe_dump(gateway.config, sort_keys=False))
    start = len(gateway.events())
    gateway.reload()
    failed = gateway.wait_for_event(lambda r: r.get("event") == "reload_failed", start=start)
    assert any("identity.oidc" in error for error in failed["errors"]), failed
    assert connects(gateway, issuer.mint("alice", ["agents"]))
