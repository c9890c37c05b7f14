"""Function volatility from the upstream catalog, as the classifier asks for it.

The classifier reports every call to a function that is not a known read-only
built-in and asks a `FunctionCatalog` how volatile it is; only ``immutable`` and
``stable`` make such a call a read. `CatalogFunctions` answers from the functions a
`CatalogSnapshot` lists (PostgreSQL ``pg_proc.provolatile``; a MySQL catalog lists
stored functions and procedures as ``volatile``: the server does not enforce their
declared characteristics).

Names are matched case-insensitively and a name may be overloaded or exist in
several schemas, so the answer is always the *least* safe volatility of every
function the name could resolve to: an unqualified name may be any schema's
function of that name (the session's search_path is not tracked), a qualified one
only that schema's. An unknown name answers None, which the classifier treats as
"may write".
"""

from __future__ import annotations

from collections.abc import Iterable

from wardgate.classify.context import Volatility
from wardgate.seam import CatalogFunction

_SAFETY: dict[str, int] = {"immutable": 0, "stable": 1, "volatile": 2}


def _less_safe(current: Volatility | None, new: str) -> Volatility:
    value: Volatility = new if new in _SAFETY else "volatile"  # type: ignore[assignment]
    if current is None or _SAFETY[value] > _SAFETY[current]:
        return value
    return current


class CatalogFunctions:
    """A `FunctionCatalog` over the functions of one catalog snapshot."""

    def __init__(self, functions: Iterable[CatalogFunction]) -> None:
        self._by_name: dict[str, Volatility] = {}
        for function in functions:
            for key in _keys(function):
                self._by_name[key] = _less_safe(self._by_name.get(key), function.volatility)

    def __len__(self) -> int:
        return len(self._by_name)

    def volatility(self, name: str) -> Volatility | None:
        return self._by_name.get(_normalize(name))


def _keys(function: CatalogFunction) -> tuple[str, ...]:
    name = function.name.lower()
    if not function.schema:
        return (name,)
    return (name, f"{function.schema.lower()}.{name}")


def _normalize(name: str) -> str:
    """`"Sales"."Total"` → `sales.total`: quotes dropped, case folded."""
    return ".".join(part.strip('"`').lower() for part in name.split("."))
