"""`OidcVerifier` and `Authenticator` with local keys and an injected wall clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from wardgate.config.model import OidcIssuer, StaticToken
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.jwks import KeyCache, KeyFetchError
from wardgate.identity.oidc import OidcVerifier, TokenRejected, looks_like_jwt, peek
from wardgate.identity.tokens import StaticTokenVerifier, token_digest
from wardgate.seam import PresentedCredential

T = TypeVar("T")
ISSUER = "https://idp.example.com"
NOW = 1_800_000_000.0
RSA = RSAKey.generate_key(2048, parameters={"kid": "r1"}, private=True)
EC = ECKey.generate_key("P-256", parameters={"kid": "e1"}, private=True)
STRANGER = RSAKey.generate_key(2048, parameters={"kid": "r1"}, private=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "aud": "wardgate",
        "sub": "alice",
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nbf": NOW - 5,
        "realm_access": {"roles": ["dba"]},
        "email": "a@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: Any = RSA, alg: str = "RS256", kid: str = "r1", **overrides: Any) -> str:
    return jwt.encode({"alg": alg, "kid": kid}, claims(**overrides), key)


FETCHES: list[str] = []


async def no_fetch() -> KeySet:
    FETCHES.append("fetch")
    raise KeyFetchError("issuer unreachable in unit tests")


def verifier(**settings: Any) -> OidcVerifier:
    config = OidcIssuer(
        issuer=ISSUER, audience="wardgate", groups_claim="realm_access.roles", **settings
    )
    cache = KeyCache(no_fetch, min_refresh_interval=3600)
    cache._keys = KeySet.import_key_set(KeySet([RSA, EC]).as_dict(private=False))
    cache._fetched_at = time.monotonic()  # fresh: a stale set would refetch in the background
    return OidcVerifier(config, cache, clock=lambda: NOW)


def verify(token: str, **settings: Any) -> Any:
    return run(verifier(**settings).verify(token, peek(token)))


def reject_code(token: str, **settings: Any) -> str:
    with pytest.raises(TokenRejected) as caught:
        verify(token, **settings)
    assert token not in caught.value.message
    return caught.value.code


def test_a_good_token_yields_name_and_nested_groups() -> None:
    identity = verify(sign())
    assert (identity.name, identity.groups, identity.method) == ("alice", {"dba"}, "oidc")
    assert identity.issuer == ISSUER
    assert verify(sign(EC, "ES256", "e1"), algorithms=("ES256",)).name == "alice"
    assert verify(sign(), name_claim="email").name == "a@example.com"
    assert verify(sign(aud=["other", "wardgate"])).name == "alice"


def test_the_identity_carries_the_token_expiry() -> None:
    assert verify(sign(exp=NOW + 120)).expires_at == float(NOW + 120)


@pytest.mark.parametrize(
    ("token_overrides", "code"),
    [
        ({"exp": NOW - 31}, "expired"),
        ({"nbf": NOW + 31}, "not_yet_valid"),
        ({"iat": NOW + 31}, "not_yet_valid"),
        ({"exp": None}, "no_expiry"),
        ({"exp": "soon"}, "malformed"),
        ({"aud": "other"}, "wrong_audience"),
        ({"aud": None}, "wrong_audience"),
        ({"iss": "https://evil.example.com"}, "wrong_issuer"),
        ({"sub": None}, "no_name"),
    ],
)
def test_claims_are_checked(token_overrides: dict[str, Any], code: str) -> None:
    assert reject_code(sign(**token_overrides)) == code


def test_leeway_tolerates_small_skew() -> None:
    assert verify(sign(exp=NOW - 29, nbf=NOW + 29, iat=NOW + 29)).name == "alice"
    assert reject_code(sign(exp=NOW - 1), leeway=0) == "expired"


def test_signature_and_algorithm_attacks() -> None:
    FETCHES.clear()
    assert reject_code(sign(STRANGER)) == "bad_signature"
    unsigned = f"{b64({'alg': 'none'})}.{b64(claims())}."
    assert reject_code(unsigned) == "unsigned"
    header = b64({"alg": "HS256", "kid": "r1"})
    signing_input = f"{header}.{b64(claims())}".encode()
    mac = hmac.new(RSA.as_pem(private=False), signing_input, hashlib.sha256).digest()
    assert reject_code(f"{header}.{b64(claims())}.{b64(mac)}") == "bad_algorithm"
    assert reject_code(sign(EC, "ES256", "e1"), algorithms=("RS256",)) == "bad_algorithm"
    tampered = sign().split(".")
    tampered[1] = b64(claims(sub="root"))
    assert reject_code(".".join(tampered)) == "bad_signature"
    assert FETCHES == []


def test_unknown_kid_is_refused_after_a_limited_refetch() -> None:
    FETCHES.clear()
    assert reject_code(sign(STRANGER, kid="nope")) == "unknown_key"
    assert FETCHES == ["fetch"]


def test_required_claims() -> None:
    token = sign(repository_owner="acme")
    assert verify(token, require={"repository_owner": "acme"}).name == "alice"
    assert reject_code(token, require={"repository_owner": "other"}) == "requirement"


def test_peek_and_shape() -> None:
    token = sign()
    assert looks_like_jwt(token)
    assert not looks_like_jwt("wgt_abc.def.ghi")
    assert peek(token).header["kid"] == "r1"
    with pytest.raises(TokenRejected):
        peek("eyJ!!!.e30.x")


def authenticator() -> tuple[Authenticator, str]:
    secret = "wgt_static-secret"
    static = StaticTokenVerifier(
        [StaticToken(name="bot", groups=("ci",), sha256=token_digest(secret))]
    )
    return Authenticator(static, [verifier()]), secret


def test_authenticator_routes_static_and_oidc_tokens() -> None:
    auth, secret = authenticator()
    assert run(auth.authenticate(PresentedCredential(secret))).method == "static"
    assert run(auth.authenticate(PresentedCredential(sign()))).method == "oidc"
    assert auth.issuers == (ISSUER,)


@pytest.mark.parametrize(
    ("presented", "code"),
    [
        ("", "invalid_token"),
        ("x" * 20000, "invalid_token"),
        ("wgt_nope", "invalid_token"),
        ("\udcff", "invalid_token"),
        ("eyJ" + "a" * 10 + ".e30.sig", "malformed"),
    ],
)
def test_authenticator_refusals(presented: str, code: str) -> None:
    auth, _ = authenticator()
    with pytest.raises(TokenRejected) as caught:
        run(auth.authenticate(PresentedCredential(presented)))
    assert caught.value.code == code


def test_an_untrusted_issuer_costs_no_network() -> None:
    auth, _ = authenticator()
    with pytest.raises(TokenRejected) as caught:
        run(auth.authenticate(PresentedCredential(sign(iss="https://other.example.com"))))
    assert caught.value.code == "untrusted_issuer"
