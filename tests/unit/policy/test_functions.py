"""`CatalogFunctions`: the least safe volatility of everything a name may resolve to."""

from __future__ import annotations

from wardgate.policy.functions import CatalogFunctions
from wardgate.seam import CatalogFunction


def catalog(*entries: tuple[str, str, str]) -> CatalogFunctions:
    return CatalogFunctions(CatalogFunction(*entry) for entry in entries)


def test_lookup_by_name_and_qualified_name_case_insensitively() -> None:
    functions = catalog(("public", "Totals", "stable"))
    assert functions.volatility("totals") == "stable"
    assert functions.volatility("PUBLIC.TOTALS") == "stable"
    assert functions.volatility('"public"."totals"') == "stable"
    assert functions.volatility("other.totals") is None
    assert functions.volatility("missing") is None


def test_overloads_and_schemas_answer_the_least_safe() -> None:
    functions = catalog(
        ("public", "f", "immutable"), ("public", "f", "volatile"), ("audit", "g", "stable")
    )
    assert functions.volatility("f") == "volatile"
    assert functions.volatility("public.f") == "volatile"
    shadowed = catalog(("public", "g", "stable"), ("evil", "g", "volatile"))
    assert shadowed.volatility("g") == "volatile"  # search_path is not tracked
    assert shadowed.volatility("public.g") == "stable"


def test_unrecognised_volatility_is_volatile() -> None:
    assert catalog(("s", "f", "mystery")).volatility("f") == "volatile"
