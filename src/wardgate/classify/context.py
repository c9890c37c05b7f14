"""What the wire layer tells the classifier about the session it classifies for.

- `ParseSettings`: server settings that change how text is *lexed* (string escapes,
  quoting). The wire layer tracks the server's real values (PostgreSQL reports
  ``standard_conforming_strings`` in ParameterStatus; MySQL's ``sql_mode`` is known from
  the handshake and every ``SET`` the policy let through) so that the classifier cuts
  the text exactly where the server will.
- `FunctionCatalog`: volatility of functions defined in the database (PostgreSQL:
  ``pg_proc.provolatile``), so a call to a function not known to be read-only is not
  taken for a read.
- `PreparedRegistry`: what the session has prepared, so ``EXECUTE name`` is classified
  as the statement it runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from wardgate.classify.model import StatementClassification

Volatility = Literal["immutable", "stable", "volatile"]

#: Volatilities that cannot change the database (PostgreSQL enforces this for SQL
#: and PL/pgSQL functions: they run with a read-only snapshot).
READ_ONLY_VOLATILITIES: frozenset[str] = frozenset({"immutable", "stable"})


class ParseSettings(NamedTuple):
    """Server settings that decide where literals, identifiers and comments end.

    - ``standard_conforming_strings`` (PostgreSQL, default on): off makes backslash an
      escape character inside ordinary ``'…'`` strings.
    - ``no_backslash_escapes`` (MySQL ``sql_mode`` NO_BACKSLASH_ESCAPES): backslash is
      an ordinary character inside strings.
    - ``ansi_quotes`` (MySQL ``sql_mode`` ANSI_QUOTES, also implied by ANSI): ``"…"``
      quotes an identifier instead of a string.

    A named tuple rather than a dataclass: it is part of every classification memo
    key, and a tuple hashes and compares in C (a dataclass's `__hash__`/`__eq__` are
    Python functions, called on every lookup).
    """

    standard_conforming_strings: bool = True
    no_backslash_escapes: bool = False
    ansi_quotes: bool = False

    @classmethod
    def from_sql_mode(cls, sql_mode: str) -> ParseSettings:
        """The MySQL settings implied by a ``sql_mode`` value."""
        modes = {mode.strip().upper() for mode in sql_mode.split(",")}
        return cls(
            no_backslash_escapes="NO_BACKSLASH_ESCAPES" in modes,
            ansi_quotes=bool(modes & {"ANSI_QUOTES", "ANSI"}),
        )


DEFAULT_SETTINGS = ParseSettings()


@runtime_checkable
class FunctionCatalog(Protocol):
    """Volatility of database-defined functions, by name as written (maybe qualified).

    Return None when the name is not known; the classifier then treats the call as
    possibly writing. MySQL routine characteristics (``READS SQL DATA`` …) are advisory
    and not enforced by the server, so a MySQL-backed catalog should only report what
    an operator vouched for.
    """

    def volatility(self, name: str) -> Volatility | None: ...


@runtime_checkable
class PreparedRegistry(Protocol):
    """What the session has prepared: name → classification of the prepared statement."""

    def lookup(self, name: str) -> StatementClassification | None: ...


class DictPreparedRegistry:
    """A `PreparedRegistry` kept in a dict; the wire layer feeds it one per session."""

    def __init__(self, dialect: str = "postgres") -> None:
        self._dialect = dialect
        self._entries: dict[str, StatementClassification] = {}

    def _key(self, name: str) -> str:
        # MySQL statement names are case-insensitive; PostgreSQL names arrive folded.
        return name.lower() if self._dialect == "mysql" else name

    def register(self, name: str, statement: StatementClassification) -> None:
        self._entries[self._key(name)] = statement

    def observe(self, statements: Iterable[StatementClassification]) -> None:
        """Register every ``PREPARE`` among `statements` (call once the server ran them)."""
        for statement in statements:
            if statement.prepared_name is not None:
                self.register(statement.prepared_name, statement)

    def forget(self, name: str) -> None:
        self._entries.pop(self._key(name), None)

    def clear(self) -> None:
        self._entries.clear()

    def lookup(self, name: str) -> StatementClassification | None:
        return self._entries.get(self._key(name))


class DictFunctionCatalog:
    """A `FunctionCatalog` backed by a dict of lower-case names; for tests and config."""

    def __init__(self, volatilities: dict[str, Volatility]) -> None:
        self._volatilities = {name.lower(): value for name, value in volatilities.items()}

    def volatility(self, name: str) -> Volatility | None:
        return self._volatilities.get(name.lower())
