"""The HTTP plugin's bodies under the core's `masking:` rules: field paths, strategies,
JSON numbers, per-rule counts, and the config that replaced `upstream.masking`."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from support.http_masking import KEY, RULES, body_masker, core_masker
from wardgate.masking.config import MaskingRule
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.rules import MaskingRules
from wardgate_http.jsonstream import JsonStreamMasker
from wardgate_http.masker import BodyMasker
from wardgate_http.settings import HttpUpstream

CARD = "4111111111111111"
FIELD_RULES = (
    MaskingRule(name="pw", fields=("password",), strategy="redact"),
    MaskingRule(name="contact", fields=("customer.email",), strategy="partial", keep=4),
    MaskingRule(name="ids", fields=("data.*.account",), strategy="hash"),
    MaskingRule(name="gone", fields=("secret",), strategy="null"),
    MaskingRule(name="cards", detectors=("credit_card",), strategy="redact"),
)


def _walk(masker: BodyMasker, doc: object) -> object:
    walker = JsonStreamMasker(masker)
    raw = json.dumps(doc).encode()
    return json.loads(walker.feed(raw) + walker.close())


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        (("password",), "pw"),
        (("a", 0, "Password"), "pw"),
        (("customer", "email"), "contact"),
        (("other", "customer", "email"), None),
        (("data", 3, "account"), "ids"),
        (("data", 3, "account", "iban"), "ids"),  # inside a masked object
        (("secret", "x", 1), "gone"),
        (("data", 3, "name"), None),
    ],
)
def test_field_rules_match_paths_and_ancestors(path: tuple[str | int, ...], rule: str) -> None:
    mask = core_masker(FIELD_RULES).field(path)
    assert (mask.rule if mask else None) == rule


def test_strategies_apply_to_json_fields() -> None:
    masker = body_masker(FIELD_RULES)
    doc = {
        "password": "hunter2",
        "customer": {"email": "alice@example.com"},
        "data": [{"account": "ACC-1", "name": "a"}, {"account": 123456, "name": "b"}],
        "secret": {"token": "t", "level": 3},
        "card": int(CARD),
        "card_text": f"pay {CARD} now",
    }
    out = _walk(masker, doc)
    assert isinstance(out, dict)
    assert out["password"] == "****"
    assert out["customer"]["email"] == "*************.com"
    first, second = out["data"]
    assert first["name"] == "a"
    assert len(first["account"]) == 16
    assert isinstance(second["account"], int)
    assert second["account"] < 2**53
    assert out["secret"] == {"token": None, "level": None}
    assert out["card"] is None  # a card number sent as a JSON number
    assert out["card_text"] == "pay **** now"


def test_hash_is_the_core_hash_and_stable() -> None:
    masker = body_masker(FIELD_RULES)
    first = _walk(masker, {"data": [{"account": "ACC-1"}]})
    again = _walk(body_masker(FIELD_RULES), {"data": [{"account": "ACC-1"}]})
    assert first == again
    engine = MaskingEngine(MaskingRules(FIELD_RULES), KEY)
    assert isinstance(first, dict)
    assert first["data"][0]["account"] == engine.strategies.text("hash", "ACC-1", 4)


def test_counts_per_rule_in_the_core_masker() -> None:
    core = core_masker(FIELD_RULES)
    masker = BodyMasker(core, fields=True, detectors=True)
    _walk(masker, {"password": "p", "x": [{"password": "q"}], "n": int(CARD), "t": CARD})
    assert core.counts == {"pw": 2, "cards": 2}


def test_short_and_non_card_numbers_pass_byte_for_byte() -> None:
    masker = body_masker(FIELD_RULES)
    raw = b'{"n": 4111111111111112, "small": 12, "f": 1.5e3, "b": true, "z": null}'
    walker = JsonStreamMasker(masker)
    assert walker.feed(raw) + walker.close() == raw


def test_request_masker_ignores_field_rules() -> None:
    masker = body_masker(RULES, fields=False)
    assert _walk(masker, {"password": "p"}) == {"password": "p"}


def test_fields_rule_validation() -> None:
    with pytest.raises(ValidationError, match="dotted field path"):
        MaskingRule(name="bad", fields=("a..b",))
    with pytest.raises(ValidationError, match="columns, fields or detectors"):
        MaskingRule(name="empty")


def test_upstream_masking_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="top-level `masking:` section"):
        HttpUpstream(masking={"fields": ["*.password"]})
    assert HttpUpstream(lookbehind=128).lookbehind == 128
