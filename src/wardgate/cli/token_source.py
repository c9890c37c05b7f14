"""Which token `env` and `connect` present, in order of precedence.

1. `WARDGATE_TOKEN` — set by whoever runs the agent (a static token, any JWT, a
   CI provider's ID token exported by the pipeline);
2. GitHub Actions' OIDC request variables (`ACTIONS_ID_TOKEN_REQUEST_URL` and
   `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, present with `permissions: id-token: write`):
   an ID token is requested for `--audience`;
3. the cached `wardgate login` token, refreshed with its refresh token when it
   has expired.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from wardgate.cli.oauth import TIMEOUT, LoginError, refresh
from wardgate.cli.token_cache import CachedLogin, cache_path, load, save

Refresher = Callable[[str, str, str], Mapping[str, Any]]


class NoToken(Exception):
    pass


def github_actions_token(environ: Mapping[str, str], audience: str) -> str | None:
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        return None
    separator = "&" if "?" in url else "?"
    try:
        response = requests.get(
            f"{url}{separator}audience={quote(audience, safe='')}",
            headers={"Authorization": f"bearer {bearer}"},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        value = response.json().get("value")
    except (requests.RequestException, ValueError) as exc:
        raise NoToken(f"the CI OIDC token request failed: {exc}") from None
    if not isinstance(value, str) or not value:
        raise NoToken("the CI OIDC token response has no value")
    return value


def cached_token(
    path: Path, refresher: Refresher = refresh, now: float | None = None
) -> str | None:
    login = load(path)
    if login is None:
        return None
    if login.fresh(now):
        return login.bearer()
    if not login.refresh_token:
        raise NoToken("the cached login has expired; run `wardgate login` again")
    try:
        response = refresher(login.token_endpoint, login.client_id, login.refresh_token)
    except LoginError as exc:
        raise NoToken(f"{exc}; run `wardgate login` again") from None
    renewed = CachedLogin.from_response(
        login.issuer, login.client_id, login.token_endpoint, response
    )
    if not renewed.refresh_token:
        renewed = replace(renewed, refresh_token=login.refresh_token)
    save(renewed, path)
    return renewed.bearer()


def resolve_token(
    audience: str,
    environ: Mapping[str, str] | None = None,
    refresher: Refresher = refresh,
) -> str:
    env = os.environ if environ is None else environ
    if env.get("WARDGATE_TOKEN"):
        return env["WARDGATE_TOKEN"]
    token = github_actions_token(env, audience) or cached_token(cache_path(env), refresher)
    if token is None:
        raise NoToken("no token: set WARDGATE_TOKEN or run `wardgate login`")
    return token
