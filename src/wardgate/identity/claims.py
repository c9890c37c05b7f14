"""Reading identities out of verified JWT claims (no I/O, no crypto).

Claim names are configured as dotted paths so nested IdP layouts work:
``groups`` (Okta, Azure AD), ``realm_access.roles`` (Keycloak),
``https://example.com/groups`` (namespaced claims containing dots are looked up
whole first). Group values may be a list of strings or one string (a single group,
or a space/comma separated list as some IdPs emit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_MISSING = object()
_SEPARATORS = re.compile(r"[\s,]+")


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path, or None; an exact key wins over a nested path."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return None
    return node


def groups_from(value: Any) -> frozenset[str]:
    """Normalize a groups claim to a set of non-empty strings; anything else is no groups."""
    if isinstance(value, str):
        return frozenset(part for part in _SEPARATORS.split(value) if part)
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return frozenset()


def name_from(claims: Mapping[str, Any], path: str) -> str | None:
    """The identity name: a non-empty string (or integer, as some CI providers emit)."""
    value = claim_at(claims, path)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def audiences(claims: Mapping[str, Any]) -> frozenset[str]:
    """`aud` is a string or a list of strings (RFC 7519 section 4.1.3)."""
    value = claims.get("aud")
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def unmet_requirements(claims: Mapping[str, Any], require: Mapping[str, str]) -> list[str]:
    """Claim paths whose value is not exactly the required string."""
    return [path for path, wanted in require.items() if claim_at(claims, path) != wanted]
