"""Prefix tests of the detectors: how much of a text arriving in pieces must wait."""

from __future__ import annotations

import pytest

from wardgate.masking.detectors import BUILTIN, Scanner, custom

SCANNER = Scanner(BUILTIN.values())
AWS = "AKIAABCDEFGHIJKLMNOP"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
SECRETS = {
    "aws_access_key": AWS,
    "credit_card": "4111 1111 1111 1111",
    "email": "alice.smith@example.com",
    "private_key": PEM,
    "jwt": JWT,
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_every_proper_prefix_of_a_secret_is_held(name: str) -> None:
    secret = SECRETS[name]
    detector = BUILTIN[name]
    for end in range(1, len(secret)):
        assert detector.may_begin("said: " + secret[:end]) == 6, (name, end)


@pytest.mark.parametrize(
    ("text", "held"),
    [
        ("hello world ", ""),
        ("ends with AK", "AK"),
        ("see -----BEGIN RS", "-----BEGIN RS"),
        ("mail alice@exa", "alice@exa"),
        ("card 4111 11", "4111 11"),
        (f"done {AWS} and ", ""),
        (PEM + " after ", ""),
    ],
)
def test_scanner_hold(text: str, held: str) -> None:
    assert text[SCANNER.hold(text) :] == held


def test_a_match_straddling_the_hold_point_is_held_whole() -> None:
    text = PEM + "\n-"  # "-" may begin another key; the key before it is complete
    assert SCANNER.hold(text) == len(PEM) + 1
    tricky = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY---"
    assert SCANNER.hold(tricky) == 0


def test_custom_detector_prefix_and_default() -> None:
    given = custom("vk", r"vk_[A-Za-z0-9]{32}", r"v(?:k(?:_[A-Za-z0-9]{0,31})?)?\Z")
    assert given.may_begin("token vk_abc") == 6
    assert given.may_begin("token abc") == -1
    default = custom("vk", r"vk_[A-Za-z0-9]{32}")
    assert default.may_begin("token vk_abc") == 6  # the trailing run of non-space text
    assert default.may_begin("token ") == -1
