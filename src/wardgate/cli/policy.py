"""`wardgate classify` and `wardgate policy test`: the policy engine without a gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wardgate.classify.classifier import Classifier
from wardgate.cli.check import config_option, load_config_or_exit
from wardgate.masking.offline import masking_plan
from wardgate.plugins import PluginRegistry
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import RulePolicy
from wardgate.seam import Command, Identity


def _print(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=False))


@click.command()
@click.option("--dialect", type=click.Choice(["postgres", "mysql"]), default="postgres")
@click.argument("sql")
def classify(dialect: str, sql: str) -> None:
    """Print how wardgate classifies SQL (kind, flags, tables, functions) as JSON."""
    _print(Classifier().classify(sql, dialect).to_json())


@click.group()
def policy() -> None:
    """Work with the policy in a configuration file."""


def _identity(config_identity: str, groups: str | None, tokens: Any) -> Identity:
    if groups is not None:
        names = frozenset(g.strip() for g in groups.split(",") if g.strip())
        return Identity(name=config_identity, groups=names)
    for token in tokens:
        if token.name == config_identity:
            return Identity(name=token.name, groups=frozenset(token.groups))
    raise click.UsageError(
        f"identity {config_identity!r} is not a configured static token; "
        "give its groups with --groups a,b"
    )


@policy.command("test")
@config_option
@click.option("--identity", "identity_name", required=True, help="Identity name.")
@click.option("--groups", default=None, help="Groups of the identity (default: from its token).")
@click.option("--resource", required=True, help="Resource name from the configuration.")
@click.option("--method", default="", help="HTTP method (http resources).")
@click.option("--path", "http_path", default="", help="HTTP path (http resources).")
@click.argument("sql", default="")
def policy_test(
    config_path: Path,
    identity_name: str,
    groups: str | None,
    resource: str,
    method: str,
    http_path: str,
    sql: str,
) -> None:
    """Print the decision the policy takes for SQL (or an HTTP request) as JSON."""
    loaded = load_config_or_exit(config_path)
    config = loaded.config
    spec = next((r for r in config.resources if r.name == resource), None)
    if spec is None:
        raise click.UsageError(f"no resource named {resource!r} in {config_path}")
    plugin = PluginRegistry().get(spec.protocol)
    dialect = plugin.dialect if plugin is not None else ""
    identity = _identity(identity_name, groups, config.identity.tokens)
    attributes = {"method": method, "path": http_path} if method else {}
    operation = "request" if method else "query"
    command = Command(operation=operation, text=sql, dialect=dialect, attributes=attributes)
    engine = RulePolicy(config.policy, loaded.version, CommandClassifier())
    decision, classification = engine.evaluate(identity, resource, command)
    payload: dict[str, Any] = {
        "action": decision.action.value,
        "rule": decision.rule,
        "reason": decision.reason,
        "kind": decision.kind,
        "flags": sorted(decision.flags),
        "max_rows": decision.max_rows,
        "masking": masking_plan(config, spec.upstream, dialect, sql),
        "policy_version": loaded.version,
        "identity": {"name": identity.name, "groups": sorted(identity.groups)},
        "resource": resource,
    }
    if classification is not None:
        payload["classification"] = classification.to_json()
    _print(payload)
