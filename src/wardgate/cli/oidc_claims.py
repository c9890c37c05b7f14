"""The user name a driver sends: only recorded by wardgate, so a readable hint suffices."""

from __future__ import annotations

import getpass

from wardgate.identity.oidc import TokenRejected, looks_like_jwt, peek


def default_user(token: str) -> str:
    """`preferred_username`, `email` or `sub` of a JWT (unverified), else the login name."""
    if looks_like_jwt(token):
        try:
            claims = peek(token).claims
        except TokenRejected:
            claims = {}
        for claim in ("preferred_username", "email", "sub"):
            value = claims.get(claim)
            if isinstance(value, str) and value:
                return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "agent"
