"""OIDC tokens through a real gateway and a real issuer on loopback.

Every refusal must reach the client as 28P01 with a reason, be counted under its
reason and logged as `auth_failed` — and the token must appear in no log line.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import psycopg
import pytest
from joserfc.jwk import RSAKey

from support.gateway import Gateway, Token
from support.oidc_issuer import OidcIssuer


def connect(gateway: Gateway, token: str, resource: str = "pg") -> psycopg.Connection[Any]:
    return psycopg.connect(gateway.dsn(resource, token=token), autocommit=True, connect_timeout=10)


def refusal(gateway: Gateway, token: str) -> str:
    with pytest.raises(psycopg.OperationalError) as caught:
        connect(gateway, token).close()
    message = str(caught.value)
    assert "authentication failed" in message
    return message


def failures(gateway: Gateway, reason: str) -> float:
    text = httpx.get(gateway.admin_url + "/metrics").text
    pattern = rf'wardgate_auth_failures_total{{[^}}]*reason="{reason}"[^}}]*}} (\S+)'
    return sum(float(value) for value in re.findall(pattern, text))


def test_oidc_token_opens_a_session_with_its_identity(
    identity_gateway: Gateway, issuer: OidcIssuer
) -> None:
    start = len(identity_gateway.events())
    with connect(identity_gateway, issuer.mint("alice@example.com", ["agents"])) as conn:
        assert conn.execute("SELECT name FROM items WHERE id = 1").fetchone() == ("one",)
    record = identity_gateway.wait_for_event(
        lambda r: r.get("event") == "session_start" and r.get("identity") == "alice@example.com",
        start=start,
    )
    assert record["upstream_user"].startswith("v-token-ro-")


def test_es256_tokens_are_accepted(identity_gateway: Gateway, issuer: OidcIssuer) -> None:
    kid = issuer.rotate("ES256")
    time.sleep(1.1)  # past jwks_min_refresh_interval: the unknown kid triggers a refetch
    with connect(identity_gateway, issuer.mint("es-user", ["agents"], kid=kid)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_static_tokens_still_work_beside_oidc(
    identity_gateway: Gateway, agent_token: Token
) -> None:
    with connect(identity_gateway, agent_token.secret) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0].startswith("v-token-ro-")


@pytest.mark.parametrize(
    ("case", "reason", "words"),
    [
        ("expired", "expired", "expired"),
        ("not_yet_valid", "not_yet_valid", "not valid yet"),
        ("wrong_audience", "wrong_audience", "audience"),
        ("wrong_issuer", "untrusted_issuer", "issuer is not trusted"),
        ("unsigned", "unsigned", "alg none"),
        ("hs256", "bad_algorithm", "HS256"),
        ("forged_known_kid", "bad_signature", "signature is invalid"),
        ("forged_unknown_kid", "unknown_key", "signing key"),
        ("no_expiry", "no_expiry", "no expiry"),
    ],
)
def test_bad_tokens_are_refused_counted_and_never_logged(
    identity_gateway: Gateway, issuer: OidcIssuer, case: str, reason: str, words: str
) -> None:
    token = bad_token(issuer, case)
    before = failures(identity_gateway, reason)
    message = refusal(identity_gateway, token)
    assert words in message
    assert failures(identity_gateway, reason) == before + 1
    assert any(r.get("reason", "").find(words) >= 0 for r in identity_gateway.events("auth_failed"))
    assert token not in identity_gateway.stderr_text()
    assert token.split(".")[2] not in identity_gateway.stderr_text() or case == "unsigned"


def bad_token(issuer: OidcIssuer, case: str) -> str:
    now = int(time.time())
    stranger = RSAKey.generate_key(2048, private=True)
    makers = {
        "expired": lambda: issuer.mint(exp=now - 120, iat=now - 600, nbf=now - 600),
        "not_yet_valid": lambda: issuer.mint(nbf=now + 600),
        "wrong_audience": lambda: issuer.mint(aud="someone-else"),
        "wrong_issuer": lambda: issuer.mint(iss="http://127.0.0.1:9/evil"),
        "unsigned": lambda: issuer.unsigned(groups=["dba"]),
        "hs256": lambda: issuer.hs256_with_public_key(),
        "forged_known_kid": lambda: issuer.mint(key=stranger),
        "forged_unknown_kid": lambda: issuer.mint(kid="made-up-kid", key=stranger),
        "no_expiry": lambda: issuer.mint(exp=None),
    }
    return makers[case]()


def test_unknown_kids_refetch_at_most_once_per_interval(
    identity_gateway: Gateway, issuer: OidcIssuer
) -> None:
    stranger = RSAKey.generate_key(2048, private=True)
    time.sleep(1.1)
    before = issuer.jwks_fetches
    for index in range(8):
        refusal(identity_gateway, issuer.mint(kid=f"storm-{index}", key=stranger))
    assert issuer.jwks_fetches - before <= 1


def test_key_rotation(identity_gateway: Gateway, issuer: OidcIssuer) -> None:
    old_kid = issuer.state.current
    old_token = issuer.mint("rotating", ["agents"])
    with connect(identity_gateway, old_token) as conn:
        conn.execute("SELECT 1")
    new_kid = issuer.rotate("RS256")
    issuer.retire(old_kid)
    time.sleep(1.1)
    # a token under the new key is unknown to the cache: one refetch, then accepted
    with connect(identity_gateway, issuer.mint("rotating", ["agents"], kid=new_kid)) as conn:
        conn.execute("SELECT 1")
    # the refetch dropped the retired key: tokens it signed are refused now
    assert "signing key" in refusal(identity_gateway, old_token)


def test_cached_keys_survive_an_issuer_outage(
    identity_gateway: Gateway, issuer: OidcIssuer
) -> None:
    token = issuer.mint("during-outage", ["agents"])
    with connect(identity_gateway, token) as conn:
        conn.execute("SELECT 1")
    issuer.state.jwks_status = 503
    try:
        time.sleep(1.1)
        stranger = RSAKey.generate_key(2048, private=True)
        refused = issuer.mint(kid="unknown-during-outage", key=stranger)
        refusal(identity_gateway, refused)  # its unknown kid triggers a fetch, which fails
        assert identity_gateway.wait_for_event(lambda r: r.get("event") == "jwks_fetch_failed")
        with connect(identity_gateway, issuer.mint("during-outage", ["agents"])) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        issuer.state.jwks_status = 200


def test_a_second_issuer_with_required_claims(
    identity_gateway: Gateway, ci_issuer: OidcIssuer
) -> None:
    good = ci_issuer.mint("repo:acme/app:ref:refs/heads/main", repository_owner="acme")
    with connect(identity_gateway, good) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    other = ci_issuer.mint("repo:evil/app:ref:refs/heads/main", repository_owner="evil")
    assert "required claims" in refusal(identity_gateway, other)
