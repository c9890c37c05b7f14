"""Verify OIDC/JWT bearer tokens from configured issuers, locally.

Theory of operation. `peek` reads the unverified header and payload only to pick
the issuer's verifier (by `iss`) and the key (by `kid`); nothing read there is
trusted. `OidcVerifier.verify` then checks, in order: the header's `alg` is one of
the issuer's configured asymmetric algorithms (so `none` and HS* — an HMAC keyed
with a public key — never reach a key), the signature against the issuer's cached
JWKS (refetched on an unknown `kid`, rate-limited), and the registered claims
`iss` (exact), `aud` (any configured audience), `exp` (required) and `nbf`/`iat`
with a small leeway, all against an injected wall clock. Only then are the name
and groups read from their configured claim paths.

Every refusal is a `TokenRejected` naming what was wrong and a short `code` for
the metric label; the token itself never appears in a message.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from wardgate.config.model import OidcIssuer
from wardgate.identity.claims import (
    audiences,
    claim_at,
    groups_from,
    name_from,
    unmet_requirements,
)
from wardgate.identity.jwks import KeyCache
from wardgate.seam import AuthenticationFailed, Identity

WallClock = Callable[[], float]


class TokenRejected(AuthenticationFailed):
    """An authentication failure with a metric-friendly `code`."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Peeked:
    """A JWT's header and payload, decoded but NOT verified."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _b64json(segment: str) -> dict[str, Any]:
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def peek(token: str) -> Peeked:
    """Decode a compact JWS's header and payload without verifying anything."""
    header, payload, _signature = token.split(".")
    try:
        return Peeked(_b64json(header), _b64json(payload))
    except (ValueError, UnicodeDecodeError):
        raise TokenRejected("the token is not a well-formed JWT", "malformed") from None


class OidcVerifier:
    """One trusted issuer: its settings and its key cache."""

    def __init__(self, settings: OidcIssuer, keys: KeyCache, clock: WallClock = time.time) -> None:
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self.keys = keys
        self._clock = clock

    async def verify(self, token: str, peeked: Peeked) -> Identity:
        algorithm = self._check_algorithm(peeked.header)
        kid = peeked.header.get("kid")
        key_set = await self.keys.key_set(kid if isinstance(kid, str) else None)
        if key_set is None:
            raise TokenRejected(
                f"signing keys of {self.issuer} are unavailable", "keys_unavailable"
            )
        if not self.keys.knows(kid if isinstance(kid, str) else None):
            raise TokenRejected(f"the token's signing key {kid!r} is unknown", "unknown_key")
        try:
            claims = jwt.decode(token, key_set, algorithms=[algorithm]).claims
        except JoseError:
            raise TokenRejected("the token's signature is invalid", "bad_signature") from None
        except ValueError:
            raise TokenRejected("the token is not a well-formed JWT", "malformed") from None
        self.check_claims(claims)
        return self.identity(claims)

    def _check_algorithm(self, header: Mapping[str, Any]) -> str:
        algorithm = header.get("alg")
        if algorithm == "none":
            raise TokenRejected("unsigned tokens (alg none) are refused", "unsigned")
        if not isinstance(algorithm, str) or algorithm not in self.settings.algorithms:
            raise TokenRejected(
                f"signature algorithm {algorithm!r} is not allowed", "bad_algorithm"
            )
        return algorithm

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        """Registered claims (RFC 7519 section 4.1) against this issuer and the clock."""
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise TokenRejected("the token's issuer does not match", "wrong_issuer")
        if not audiences(claims) & set(self.settings.audience):
            raise TokenRejected("the token is not meant for wardgate (audience)", "wrong_audience")
        self._check_times(claims)
        missing = unmet_requirements(claims, self.settings.require)
        if missing:
            raise TokenRejected(f"required claims not met: {', '.join(missing)}", "requirement")

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now, leeway = self._clock(), self.settings.leeway
        expires = _time_claim(claims, "exp")
        if expires is None:
            raise TokenRejected("the token has no expiry (exp)", "no_expiry")
        if now > expires + leeway:
            raise TokenRejected("the token has expired", "expired")
        not_before = _time_claim(claims, "nbf")
        if not_before is not None and now + leeway < not_before:
            raise TokenRejected("the token is not valid yet (nbf)", "not_yet_valid")
        issued = _time_claim(claims, "iat")
        if issued is not None and now + leeway < issued:
            raise TokenRejected("the token was issued in the future (iat)", "not_yet_valid")

    def identity(self, claims: Mapping[str, Any]) -> Identity:
        name = name_from(claims, self.settings.name_claim)
        if name is None:
            claim = self.settings.name_claim
            raise TokenRejected(f"the token has no usable {claim!r} claim", "no_name")
        groups = groups_from(claim_at(claims, self.settings.groups_claim))
        expires = _time_claim(claims, "exp")  # checked present and in the future above
        return Identity(
            name=name, groups=groups, method="oidc", issuer=self.issuer, expires_at=expires
        )


def _time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim as a float; absent is None, anything non-numeric is refused."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"the token's {name!r} claim is not a number", "malformed")
    return float(value)
