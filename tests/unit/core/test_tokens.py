"""Static tokens, the authenticator in front of them, and static upstream credentials."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

import pytest

from wardgate.config.model import StaticCredentials, StaticToken
from wardgate.credentials.static import StaticCredentialProvider
from wardgate.identity.authenticator import MAX_TOKEN_CHARS, Authenticator
from wardgate.identity.tokens import TOKEN_PREFIX, StaticTokenVerifier, new_token, token_digest
from wardgate.seam import (
    AuthenticationFailed,
    Identity,
    PresentedCredential,
    UpstreamCredential,
    UpstreamUnavailable,
)

CI_SECRET = "wgt_ci-bot-secret"
OPS_SECRET = "wgt_ops-secret"


def entry(name: str, secret: str, groups: tuple[str, ...] = ()) -> StaticToken:
    return StaticToken(name=name, groups=groups, sha256=token_digest(secret))


@pytest.fixture
def verifier() -> StaticTokenVerifier:
    return StaticTokenVerifier(
        [
            entry("ci-bot", CI_SECRET, ("agents",)),
            entry("ops", OPS_SECRET, ("dba", "agents")),
        ]
    )


# -- tokens ------------------------------------------------------------------------------


def test_digest_is_hex_sha256_of_utf8() -> None:
    assert token_digest("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert token_digest("é") == hashlib.sha256("é".encode()).hexdigest()


def test_verify_matches_the_right_token_with_its_groups(verifier: StaticTokenVerifier) -> None:
    assert verifier.verify(CI_SECRET) == Identity(
        name="ci-bot", groups=frozenset({"agents"}), method="static"
    )
    ops = verifier.verify(OPS_SECRET)
    assert ops is not None
    assert (ops.name, ops.groups) == ("ops", frozenset({"dba", "agents"}))


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "wgt_",
        CI_SECRET + " ",
        CI_SECRET.upper(),
        CI_SECRET[:-1],
        token_digest(CI_SECRET),  # the configured hash is not itself a token
    ],
)
def test_verify_refuses_anything_else(verifier: StaticTokenVerifier, presented: str) -> None:
    assert verifier.verify(presented) is None


def test_verify_with_uppercase_configured_digest() -> None:
    token = StaticToken(name="x", sha256=token_digest(CI_SECRET).upper())
    identity = StaticTokenVerifier([token]).verify(CI_SECRET)
    assert identity is not None
    assert identity.name == "x"
    assert identity.groups == frozenset()


def test_no_tokens_configured_verifies_nothing() -> None:
    assert StaticTokenVerifier([]).verify(CI_SECRET) is None


def test_new_token_prefix_and_entropy() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        assert token.startswith(TOKEN_PREFIX)
        body = token.removeprefix(TOKEN_PREFIX)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        assert len(raw) == 32  # 256 bits
        assert token.isascii()
        assert not any(c.isspace() for c in token)


def test_new_token_verifies_against_its_digest() -> None:
    token = new_token()
    identity = StaticTokenVerifier([entry("fresh", token, ("a", "b"))]).verify(token)
    assert identity is not None
    assert identity.groups == frozenset({"a", "b"})


def test_presented_credential_repr_hides_the_token() -> None:
    credential = PresentedCredential(secret=CI_SECRET, user="alice")
    assert CI_SECRET not in repr(credential)


# -- authenticator -----------------------------------------------------------------------


def authenticate(verifier: StaticTokenVerifier, secret: str) -> Identity:
    authenticator = Authenticator(verifier)
    return asyncio.run(authenticator.authenticate(PresentedCredential(secret=secret, user="x")))


def test_authenticator_returns_identity(verifier: StaticTokenVerifier) -> None:
    identity = authenticate(verifier, OPS_SECRET)
    assert identity.name == "ops"
    assert identity.method == "static"


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "no usable token was presented"),
        ("x" * (MAX_TOKEN_CHARS + 1), "no usable token was presented"),
        ("wgt_wrong", "the presented token is not valid"),
    ],
    ids=["empty", "oversized", "invalid"],
)
def test_authenticator_refuses(verifier: StaticTokenVerifier, secret: str, message: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        authenticate(verifier, secret)
    assert caught.value.message == message
    assert caught.value.category == "authentication"
    if secret:
        assert secret not in str(caught.value)


def test_authenticator_refuses_unencodable_token(verifier: StaticTokenVerifier) -> None:
    with pytest.raises(AuthenticationFailed):
        authenticate(verifier, "wgt_\udc80")


def test_authenticator_accepts_a_token_at_the_size_limit() -> None:
    secret = "y" * MAX_TOKEN_CHARS
    identity = authenticate(StaticTokenVerifier([entry("long", secret)]), secret)
    assert identity.name == "long"


# -- static upstream credentials ---------------------------------------------------------


def lease(
    spec: StaticCredentials, base: Path, environ: dict[str, str] | None = None
) -> UpstreamCredential:
    provider = StaticCredentialProvider(spec, base, environ=environ)
    return asyncio.run(provider.lease())


def test_static_password(tmp_path: Path) -> None:
    credential = lease(StaticCredentials(user="app", password="pw"), tmp_path)
    assert credential == UpstreamCredential(username="app", password="pw")
    assert "pw" not in repr(credential)


def test_static_no_password_is_empty(tmp_path: Path) -> None:
    assert lease(StaticCredentials(user="app"), tmp_path) == UpstreamCredential("app", "")


def test_static_password_from_env(tmp_path: Path) -> None:
    spec = StaticCredentials(user="app", password_env="PGPASS")
    assert lease(spec, tmp_path, {"PGPASS": "from-env"}) == UpstreamCredential("app", "from-env")


def test_env_is_read_at_each_lease(tmp_path: Path) -> None:
    environ = {"PGPASS": "one"}
    provider = StaticCredentialProvider(
        StaticCredentials(user="app", password_env="PGPASS"), tmp_path, environ
    )
    assert asyncio.run(provider.lease()).password == "one"
    environ["PGPASS"] = "two"  # rotated without a restart
    assert asyncio.run(provider.lease()).password == "two"


def test_missing_env_is_upstream_unavailable(tmp_path: Path) -> None:
    spec = StaticCredentials(user="app", password_env="PGPASS")
    with pytest.raises(UpstreamUnavailable) as caught:
        lease(spec, tmp_path, {})
    assert "PGPASS" in caught.value.message
    assert caught.value.category == "upstream"


def test_password_file_relative_to_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pg.txt").write_text("from-file\n", encoding="utf-8")
    monkeypatch.chdir("/")
    spec = StaticCredentials(user="app", password_file="secrets/pg.txt")
    assert lease(spec, tmp_path) == UpstreamCredential("app", "from-file")


def test_password_file_absolute(tmp_path: Path) -> None:
    path = tmp_path / "abs.txt"
    path.write_text("abs\n", encoding="utf-8")
    spec = StaticCredentials(user="app", password_file=str(path))
    assert lease(spec, tmp_path / "elsewhere") == UpstreamCredential("app", "abs")


def test_unreadable_password_file_is_upstream_unavailable(tmp_path: Path) -> None:
    spec = StaticCredentials(user="app", password_file="nope.txt")
    with pytest.raises(UpstreamUnavailable, match="unreadable"):
        lease(spec, tmp_path)


def test_release_is_a_no_op(tmp_path: Path) -> None:
    provider = StaticCredentialProvider(StaticCredentials(user="app", password="p"), tmp_path)
    credential = asyncio.run(provider.lease())
    asyncio.run(provider.release(credential))
    assert asyncio.run(provider.lease()) == credential
