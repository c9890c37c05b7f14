"""The classifier: lex, split, fingerprint, look up or analyse, resolve, combine.

Theory of operation (docs/classification.md has the long version)::

    text ──lex (server's rules, ParseSettings)──▶ tokens ──split at ;──▶ statements
    statement ──fingerprint──▶ key ──cache hit──▶ Analysis
                                   └─miss: re-lex the fingerprint, rules + sqlglot─┘
    Analysis ──resolve (catalog, prepared names, database)──▶ StatementClassification
    statements ──strictest kind, union of the rest──▶ Classification

The hot path (a shape seen before) is one lex and a dict lookup; sqlglot runs only
on a miss. A text seen before (a prepared or parameterised statement, re-sent or
re-executed) skips even the lex: the finished classification is memoised by exact
text, settings and database when no session catalog or registry takes part. A
literal-bearing text whose plain literals a regex can blank (fastkey.py) skips it
too: the classification is memoised by that fast key.
Every exception anywhere turns the result into ``unknown``: this is a security
boundary and a crash must never read as permission.
"""

from __future__ import annotations

from sqlglot import ErrorLevel, exp
from sqlglot import parse as sqlglot_parse

from wardgate.classify import mysql_handlers
from wardgate.classify.cache import ClassificationCache
from wardgate.classify.context import (
    DEFAULT_SETTINGS,
    FunctionCatalog,
    ParseSettings,
    PreparedRegistry,
)
from wardgate.classify.draft import Analysis, unknown_analysis
from wardgate.classify.fastkey import fast_key
from wardgate.classify.fingerprint import fingerprint, split_statements
from wardgate.classify.lexer import STRING, LexError, Token, lex
from wardgate.classify.model import (
    DIALECTS,
    Classification,
    Kind,
    StatementClassification,
    combine,
    strictest,
    unique,
)
from wardgate.classify.parsing import Env, ParseFn
from wardgate.classify.resolve import resolve
from wardgate.classify.statements import analyze_statement

#: Texts longer than this are not classified (unknown): bounds CPU per statement.
DEFAULT_MAX_CHARS = 4 * 1024 * 1024
#: The exact-text memo: how many texts, and the longest text kept (bounds memory).
TEXT_MEMO_ENTRIES = 4096
TEXT_MEMO_MAX_CHARS = 2048

TextKey = tuple[str, str, ParseSettings, str | None]
#: The shape memo: the finished classification per (dialect, settings, database,
#: statement fingerprints) when no catalog or registry takes part.
SHAPE_MEMO_ENTRIES = 4096
ShapeKey = tuple[str, ParseSettings, str | None, tuple[str, ...]]
#: The fast-key memo: the finished classification per (fast key, dialect, settings,
#: database) when no catalog or registry takes part (fastkey.py says why it is sound).
FAST_MEMO_ENTRIES = 4096


def parse_with_sqlglot(sql: str, dialect: str) -> exp.Expr:
    """Parse exactly one statement, raising on any error."""
    statements = sqlglot_parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    if len(statements) != 1 or statements[0] is None:
        raise ValueError("expected exactly one statement")
    tree: exp.Expr = statements[0]
    return tree


class Classifier:
    """Classifies SQL text; holds the fingerprint cache and the injected parser."""

    def __init__(
        self,
        cache: ClassificationCache | None = None,
        parse: ParseFn = parse_with_sqlglot,
        max_chars: int = DEFAULT_MAX_CHARS,
        fast_keys: bool = True,
    ) -> None:
        self.cache = cache if cache is not None else ClassificationCache()
        self.parse = parse
        self.max_chars = max_chars
        self.fast_keys = fast_keys  # off: every literal-bearing text is lexed (tests)
        self._texts: dict[TextKey, Classification] = {}
        self._shapes: dict[ShapeKey, Classification] = {}
        self._fast: dict[TextKey, Classification] = {}
        self._shapes_generation = self.cache.generation

    def classify(
        self,
        sql: str,
        dialect: str,
        *,
        settings: ParseSettings | None = None,
        catalog: FunctionCatalog | None = None,
        registry: PreparedRegistry | None = None,
        database: str | None = None,
    ) -> Classification:
        if dialect not in DIALECTS:
            raise ValueError(f"unsupported dialect {dialect!r}; expected one of {sorted(DIALECTS)}")
        settings = settings or DEFAULT_SETTINGS
        # Only a classification that depends on nothing but these four is memoised:
        # a catalog or a registry of prepared names can change between calls.
        memo = catalog is None and registry is None and len(sql) <= TEXT_MEMO_MAX_CHARS
        key = (sql, dialect, settings, database)
        if memo and (known := self._texts.get(key)) is not None:
            return known
        fast = None
        if memo and self.fast_keys and len(sql) <= self.max_chars:
            fast = fast_key(sql, dialect, settings)
        if fast is not None:
            return self._by_fast_key((fast, dialect, settings, database), sql)
        try:
            result = self._classify(sql, dialect, settings, catalog, registry, database)
        except Exception as error:  # fail closed: never let a crash read as a read
            return _unknown(f"classifier error ({type(error).__name__})")
        if memo:
            if len(self._texts) >= TEXT_MEMO_ENTRIES:
                self._texts.clear()  # bounded; what repeats comes back at once
            self._texts[key] = result
        return result

    def _by_fast_key(self, key: TextKey, sql: str) -> Classification:
        """The classification memoised by fast key (no catalog, no registry).

        Equal keys mean equal tokens (fastkey.py), hence equal fingerprints and equal
        classifications: the same argument as `_by_shape`, one step earlier.
        """
        if self._shapes_generation != self.cache.generation:  # (inline: per command)
            self._check_generation()
        known = self._fast.get(key)
        if known is not None:
            self.cache.count_hits(len(known.statements))
            return known
        _, dialect, settings, database = key
        try:
            known = self._classify(sql, dialect, settings, None, None, database)
        except Exception as error:  # fail closed, and keep no memo of a crash
            return _unknown(f"classifier error ({type(error).__name__})")
        if len(self._fast) >= FAST_MEMO_ENTRIES:
            self._fast.clear()  # bounded; what repeats comes back at once
        self._fast[key] = known
        return known

    def _check_generation(self) -> None:
        """Drop the memos built on analyses the cache has since dropped."""
        if self._shapes_generation != self.cache.generation:
            self._shapes.clear()
            self._fast.clear()
            self._shapes_generation = self.cache.generation

    def _classify(
        self,
        sql: str,
        dialect: str,
        settings: ParseSettings,
        catalog: FunctionCatalog | None,
        registry: PreparedRegistry | None,
        database: str | None,
    ) -> Classification:
        if len(sql) > self.max_chars:
            return _unknown(f"statement text longer than {self.max_chars} characters")
        try:
            lexed = lex(sql, dialect, settings, conditional=True)
            absent = lex(sql, dialect, settings, conditional=False) if lexed.conditional else None
        except LexError as error:
            return _unknown(f"cannot lex the text: {error}")
        if absent is None and catalog is None and registry is None:
            return self._by_shape(lexed.tokens, dialect, settings, database)

        def run(tokens: list[Token]) -> tuple[StatementClassification, ...]:
            analyses = self.analyses(tokens, dialect, settings)
            return tuple(resolve(a, catalog, registry, database) for a in analyses)

        present = run(lexed.tokens)
        whole = combine(present, "; ".join(s.fingerprint for s in present))
        if absent is None:
            return whole
        return _with_variant(whole, run(absent.tokens))

    def _by_shape(
        self, tokens: list[Token], dialect: str, settings: ParseSettings, database: str | None
    ) -> Classification:
        """Memoised by fingerprints: literal-bearing texts of one shape cost a lex.

        Sound for the reason the analysis cache is (module docstring of
        `wardgate.classify.fingerprint`): without a catalog or a registry the result
        is a function of the dialect, settings, database and statement fingerprints.
        """
        shapes = tuple(statement_fingerprint(s, dialect) for s in split_statements(tokens))
        key = (dialect, settings, database, shapes)
        self._check_generation()
        known = self._shapes.get(key)
        if known is not None:
            self.cache.count_hits(len(shapes))
            return known
        present = tuple(
            resolve(self._analysis(fp, dialect, settings), None, None, database) for fp in shapes
        )
        known = combine(present, "; ".join(s.fingerprint for s in present))
        if sum(map(len, shapes)) <= TEXT_MEMO_MAX_CHARS:
            if len(self._shapes) >= SHAPE_MEMO_ENTRIES:
                self._shapes.clear()  # bounded; what repeats comes back at once
            self._shapes[key] = known
        return known

    def _analysis(self, fp: str, dialect: str, settings: ParseSettings) -> Analysis:
        key = (dialect, settings, fp)
        analysis = self.cache.get(key)
        if analysis is None:
            analysis = self._analyze(fp, dialect, settings)
            self.cache.put(key, analysis)
        return analysis

    def analyses(
        self, tokens: list[Token], dialect: str, settings: ParseSettings
    ) -> list[Analysis]:
        """The cached (or freshly computed) analysis of each statement of `tokens`."""
        return [
            self._analysis(statement_fingerprint(statement, dialect), dialect, settings)
            for statement in split_statements(tokens)
        ]

    def _analyze(self, fp: str, dialect: str, settings: ParseSettings) -> Analysis:
        """Classify a fingerprint string — never the original text (soundness)."""
        try:
            statements = split_statements(lex(fp, dialect, settings).tokens)
            if len(statements) != 1:
                return unknown_analysis("fingerprint is not one statement", fp)
            env = Env(dialect, settings, self.parse, analyze_statement)
            return analyze_statement(statements[0], env).freeze(fp)
        except Exception as error:
            return unknown_analysis(f"cannot classify ({type(error).__name__})", fp)


def statement_fingerprint(tokens: list[Token], dialect: str) -> str:
    """The fingerprint of one statement (MySQL PREPARE FROM '…' keeps its text)."""
    if dialect == "mysql" and mysql_handlers.keeps_literal(tokens):
        body = tokens[3]
        tokens = [*tokens[:3], Token(STRING, body.key, body.key)]
        return fingerprint(tokens, keep_strings=True)
    return fingerprint(tokens)


def _unknown(reason: str) -> Classification:
    statement = StatementClassification(kind=Kind.UNKNOWN, reasons=(reason,))
    return combine((statement,), "")


def _with_variant(
    whole: Classification, other: tuple[StatementClassification, ...]
) -> Classification:
    """Fold in the reading without conditional executable comments: stricter wins."""
    reason = "versioned or MariaDB executable comment: classified with and without it"
    flags = whole.flags.union(*(s.flags for s in other))
    if len(other) > 1:
        flags |= {"multi_statement"}
    return Classification(
        kind=strictest([whole.kind, *(s.kind for s in other)]),
        flags=flags,
        tables=unique([*whole.tables, *(t for s in other for t in s.tables)]),
        functions=unique([*whole.functions, *(f for s in other for f in s.functions)]),
        statements=whole.statements,
        fingerprint=whole.fingerprint,
        reasons=unique([*whole.reasons, *(r for s in other for r in s.reasons), reason]),
    )
