"""`wardgate login`: OIDC device authorization, token cached for `env` and `connect`."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from authlib.integrations.requests_client import OAuth2Session

from wardgate.cli.oauth import TIMEOUT, LoginError, discover, poll_for_token, request_device_code
from wardgate.cli.token_cache import CachedLogin, cache_path, save


def issuer_from_config(path: Path, issuer: str | None) -> tuple[str, str]:
    """(issuer, client_id) of the first `identity.oidc` entry with a client_id (or `issuer`)."""
    tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for entry in (tree.get("identity") or {}).get("oidc") or []:
        if entry.get("client_id") and issuer in (None, entry.get("issuer")):
            return str(entry["issuer"]), str(entry["client_id"])
    raise click.UsageError(f"{path}: no identity.oidc entry with a client_id")


@click.command()
@click.option("--issuer", help="OIDC issuer URL.")
@click.option("--client-id", help="The public client registered for wardgate's CLI.")
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="Take issuer and client id from this wardgate.yaml.",
)
@click.option("--scope", default="openid profile email offline_access", show_default=True)
def login(issuer: str | None, client_id: str | None, config_path: Path | None, scope: str) -> None:
    """Log in with the OIDC device flow; the token is cached (0600) for env/connect."""
    if config_path is not None and not (issuer and client_id):
        issuer, client_id = issuer_from_config(config_path, issuer)
    if not issuer or not client_id:
        raise click.UsageError("give --issuer and --client-id, or -c FILE")
    try:
        endpoints = discover(issuer)
        session = OAuth2Session(client_id=client_id, scope=scope, timeout=TIMEOUT)
        code = request_device_code(session, endpoints, scope)
        click.echo(
            f"To sign in, open {code.verification_uri} and enter the code {code.user_code}",
            err=True,
        )
        if code.verification_uri_complete:
            click.echo(f"(or open {code.verification_uri_complete})", err=True)
        token = poll_for_token(session, endpoints, code)
    except LoginError as exc:
        raise click.ClickException(str(exc)) from None
    path = cache_path()
    save(CachedLogin.from_response(issuer, client_id, endpoints.token, token), path)
    click.echo(f"Logged in to {issuer}; token cached in {path}", err=True)
