"""Client-side auth: SCRAM-SHA-256 against RFC 7677 and a simulated server, md5, SASLprep."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from wardgate_postgres.auth import (
    AuthFailed,
    SASLprepError,
    choose_mechanism,
    finish_scram,
    md5_password,
    prepare_password,
    saslprep,
    scram_client,
)
from wardgate_postgres.codec import ProtocolViolation

# RFC 7677 section 3 (user "user", password "pencil").
RFC_NONCE = b"rOprNGfwEbeRWgbNEkqO"
RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _rfc_exchange() -> object:
    exchange = scram_client("pencil", RFC_NONCE, username="user")
    assert next(exchange) == RFC_CLIENT_FIRST
    assert exchange.send(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    return exchange


def test_scram_rfc7677_golden() -> None:
    exchange = scram_client("pencil", RFC_NONCE, username="user")
    assert next(exchange) == RFC_CLIENT_FIRST
    assert exchange.send(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    finish_scram(exchange, RFC_SERVER_FINAL)


def test_scram_rejects_wrong_server_signature() -> None:
    exchange = scram_client("pencil", RFC_NONCE, username="user")
    next(exchange)
    exchange.send(RFC_SERVER_FIRST)
    forged = b"v=" + base64.b64encode(b"\x00" * 32)
    with pytest.raises(AuthFailed, match="signature"):
        finish_scram(exchange, forged)


def test_scram_wrong_password_is_caught_by_the_signature() -> None:
    exchange = scram_client("pencil!", RFC_NONCE, username="user")
    next(exchange)
    assert exchange.send(RFC_SERVER_FIRST) != RFC_CLIENT_FINAL
    with pytest.raises(AuthFailed):
        finish_scram(exchange, RFC_SERVER_FINAL)


def test_postgres_style_client_first() -> None:
    exchange = scram_client("pw", b"abc")
    assert next(exchange) == b"n,,n=,r=abc"


def test_default_nonce_is_random_base64() -> None:
    first = next(scram_client("pw"))
    other = next(scram_client("pw"))
    nonce = first.removeprefix(b"n,,n=,r=")
    assert first != other
    assert len(base64.b64decode(nonce, validate=True)) == 18


@pytest.mark.parametrize(
    ("server_first", "reason"),
    [
        (b"r=XXXX,s=QUJD,i=4096", "nonce"),
        (b"r=abc,s=QUJD,i=4096", "nonce"),
        (b"r=abcdef,s=!!!,i=4096", "base64"),
        (b"r=abcdef,s=QUJD,i=0", "iteration"),
        (b"r=abcdef,s=QUJD,i=99999999999", "iteration"),
        (b"r=abcdef,s=QUJD,i=-1", "iteration"),
        (b"m=ext,r=abcdef,s=QUJD,i=4096", "extension"),
        (b"s=QUJD,r=abcdef,i=4096", "malformed"),
        (b"garbage", "malformed"),
        (b"", "malformed"),
    ],
)
def test_scram_rejects_bad_server_first(server_first: bytes, reason: str) -> None:
    exchange = scram_client("pw", b"abc")
    next(exchange)
    with pytest.raises(AuthFailed, match=reason):
        exchange.send(server_first)


@pytest.mark.parametrize(
    ("server_final", "reason"),
    [
        (b"e=invalid-proof", "invalid-proof"),
        (b"x=abc", "malformed"),
        (b"v=***", "base64"),
    ],
)
def test_scram_rejects_bad_server_final(server_final: bytes, reason: str) -> None:
    exchange = _rfc_exchange()
    with pytest.raises(AuthFailed, match=reason):
        finish_scram(exchange, server_final)  # type: ignore[arg-type]


def test_auth_failed_is_a_protocol_violation_with_28000() -> None:
    error = AuthFailed("x")
    assert isinstance(error, ProtocolViolation)
    assert error.sqlstate == "28000"


def test_scram_against_a_simulated_server() -> None:
    password = "pässwörd\u00a0ⅸ"
    exchange = scram_client(password)
    first = next(exchange)
    salt, iterations, server_nonce = b"saltsalt", 4096, b"SERVERNONCE"
    combined = first.split(b"r=")[1] + server_nonce
    server_first = b"r=" + combined + b",s=" + base64.b64encode(salt) + f",i={iterations}".encode()
    final = exchange.send(server_first)
    prepared = "pässwörd ix".encode()
    salted = hashlib.pbkdf2_hmac("sha256", prepared, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    without_proof, proof = final.rsplit(b",p=", 1)
    auth_message = first[3:] + b"," + server_first + b"," + without_proof
    signature = hmac.new(stored_key, auth_message, "sha256").digest()
    recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
    assert hashlib.sha256(recovered).digest() == stored_key
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    server_signature = hmac.new(server_key, auth_message, "sha256").digest()
    finish_scram(exchange, b"v=" + base64.b64encode(server_signature))


def test_choose_mechanism() -> None:
    assert choose_mechanism(["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]) == "SCRAM-SHA-256"
    with pytest.raises(AuthFailed, match="no supported"):
        choose_mechanism(["SCRAM-SHA-256-PLUS"])


def test_md5_password() -> None:
    # echo -n secretalice | md5sum, then md5 of that hex + salt 01020304.
    assert md5_password("alice", "secret", b"\x01\x02\x03\x04") == (
        b"md598a0412b9c31436fc53776e863350083"
    )
    with pytest.raises(ValueError, match="salt"):
        md5_password("alice", "secret", b"\x01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I\u00adX", "IX"),  # RFC 4013 section 3 examples
        ("user", "user"),
        ("USER", "USER"),
        ("\u00aa", "a"),
        ("\u2168", "IX"),
        ("a\u00a0b\u00e9", "a b\u00e9"),
        ("\u0007", "\u0007"),  # pure ASCII passes untouched, as in PostgreSQL
    ],
)
def test_saslprep(text: str, expected: str) -> None:
    assert saslprep(text) == expected


@pytest.mark.parametrize("text", ["\u0627\u0031", "\u00ad", "ab\ufffd", "a\u0221"])
def test_saslprep_prohibited(text: str) -> None:
    with pytest.raises(SASLprepError):
        saslprep(text)
    assert prepare_password(text) == text.encode("utf-8")
