"""Claim paths, group normalization, names and audiences (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from wardgate.identity.claims import (
    audiences,
    claim_at,
    groups_from,
    name_from,
    unmet_requirements,
)

KEYCLOAK: dict[str, Any] = {
    "sub": "f3c1",
    "preferred_username": "alice",
    "email": "alice@example.com",
    "realm_access": {"roles": ["dba", "agents"]},
    "resource_access": {"wardgate": {"roles": ["reader"]}},
    "https://example.com/groups": ["namespaced"],
    "aud": ["wardgate", "account"],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("sub", "f3c1"),
        ("realm_access.roles", ["dba", "agents"]),
        ("resource_access.wardgate.roles", ["reader"]),
        ("https://example.com/groups", ["namespaced"]),
        ("realm_access.missing", None),
        ("sub.deeper", None),
        ("nothing", None),
    ],
)
def test_claim_at(path: str, expected: Any) -> None:
    assert claim_at(KEYCLOAK, path) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b", "a"], {"a", "b"}),
        ("dba", {"dba"}),
        ("dba agents,ops", {"dba", "agents", "ops"}),
        (["a", 3, None, "", {"x": 1}], {"a"}),
        (None, set()),
        (42, set()),
        ({"a": True}, set()),
    ],
)
def test_groups_from(value: Any, expected: set[str]) -> None:
    assert groups_from(value) == frozenset(expected)


def test_name_from_prefers_the_configured_claim() -> None:
    assert name_from(KEYCLOAK, "preferred_username") == "alice"
    assert name_from(KEYCLOAK, "email") == "alice@example.com"
    assert name_from({"actor_id": 12345}, "actor_id") == "12345"
    assert name_from({"sub": ""}, "sub") is None
    assert name_from({"sub": "  "}, "sub") is None
    assert name_from({"sub": True}, "sub") is None
    assert name_from({"sub": ["x"]}, "sub") is None


def test_audiences_string_or_list() -> None:
    assert audiences({"aud": "wardgate"}) == {"wardgate"}
    assert audiences({"aud": "a b"}) == {"a b"}
    assert audiences(KEYCLOAK) == {"wardgate", "account"}
    assert audiences({"aud": [1, "x"]}) == {"x"}
    assert audiences({}) == frozenset()


def test_unmet_requirements() -> None:
    claims = {"repository_owner": "acme", "ref": "refs/heads/main", "n": {"x": "1"}}
    assert unmet_requirements(claims, {"repository_owner": "acme", "n.x": "1"}) == []
    assert unmet_requirements(claims, {"repository_owner": "evil", "ref": "refs/heads/main"}) == [
        "repository_owner"
    ]
    assert unmet_requirements(claims, {"missing": ""}) == ["missing"]
