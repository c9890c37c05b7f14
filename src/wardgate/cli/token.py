"""`wardgate token create NAME --groups a,b`: mint a static token."""

from __future__ import annotations

import json

import click

from wardgate.identity.tokens import new_token, token_digest


@click.group()
def token() -> None:
    """Static bearer tokens (embedded default and break-glass identities)."""


@token.command("create")
@click.argument("name")
@click.option("--groups", default="", help="Comma-separated groups, e.g. agents,dba.")
def create(name: str, groups: str) -> None:
    """Print a new token and the `identity.tokens` entry that holds only its hash."""
    secret = new_token()
    group_list = [g.strip() for g in groups.split(",") if g.strip()]
    entry = {"name": name, "groups": group_list, "sha256": token_digest(secret)}
    click.echo(f"token: {secret}")
    click.echo("add under identity.tokens in wardgate.yaml:")
    click.echo(f"  - {json.dumps(entry)}")
    click.echo("The token is shown once; wardgate keeps only its SHA-256.", err=True)
