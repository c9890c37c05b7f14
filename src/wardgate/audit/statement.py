"""Statement text for the audit trail: literals replaced by ``?``, plus a fingerprint.

The lexer is the classifier's (`wardgate.classify.lexer`), so literals end exactly
where the server says they do. Whatever it cannot lex is redacted conservatively:
everything from an opening quote or dollar-quote to its close — or to the end of the
text — and every number become ``?``. The fingerprint is a short SHA-256 of the
classifier's literal-free fingerprint, so one query shape has one value.
HTTP request lines keep their path and lose their query-string values.

A text with a fast key (`wardgate.classify.fastkey`: plain literals blanked by a
regex, nothing the regex does not understand) is redacted once per key: equal keys
mean equal tokens, and the redaction is computed from the tokens' kinds and texts.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from wardgate.classify.context import DEFAULT_SETTINGS
from wardgate.classify.fastkey import fast_key
from wardgate.classify.fingerprint import fingerprint, render, split_statements
from wardgate.classify.lexer import NUMBER, STRING, LexError, Token, lex

PLACEHOLDER = "?"
CACHED_CHARS = 2048
#: Redactions kept per fast key (cleared when full).
FAST_MEMO_ENTRIES = 4096
_SQL_DIALECTS = frozenset({"postgres", "mysql"})
_FALLBACK = re.compile(
    r"(\$[A-Za-z_]*\$).*?(?:\1|\Z)"  # dollar quoting
    r"|[eEnNbBxX]?'(?:[^'\\]|\\.|'')*(?:'|\Z)"  # '…' strings (unterminated: to the end)
    r"|\"(?:[^\"\\]|\\.|\"\")*(?:\"|\Z)"  # "…" (a string in MySQL)
    r"|\b\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\b",
    re.DOTALL,
)
_QUERY_VALUE = re.compile(r"=[^&\s#]*")


@dataclass(frozen=True, slots=True)
class RedactedStatement:
    text: str
    fingerprint: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _blank(token: Token) -> Token:
    if token.kind in (STRING, NUMBER):
        return token._replace(text=PLACEHOLDER)
    return token


def _sql(text: str, dialect: str) -> RedactedStatement:
    tokens = lex(text, dialect, DEFAULT_SETTINGS).tokens
    statements = split_statements(tokens)
    shown = "; ".join(render([_blank(t) for t in statement]) for statement in statements)
    shape = "; ".join(fingerprint(statement) for statement in statements)
    return RedactedStatement(shown, _digest(f"{dialect}:{shape}"))


def _fallback(text: str) -> RedactedStatement:
    shown = " ".join(_FALLBACK.sub(PLACEHOLDER, text).split())
    return RedactedStatement(shown, _digest(shown))


def _request_line(text: str) -> RedactedStatement:
    method, _, rest = text.partition(" ")
    path, question, query = rest.partition("?")
    shown = f"{method} {path}" + (question + _QUERY_VALUE.sub("=?", query) if question else "")
    return RedactedStatement(shown, _digest(f"{method} {path}"))


def redact(text: str, dialect: str) -> RedactedStatement:
    """`text` with every literal replaced by ``?``; never raises.

    Repeated statements and repeated shapes (the common cases) come from small caches.
    """
    if len(text) > CACHED_CHARS:
        return _redact(text, dialect)
    key = fast_key(text, dialect, DEFAULT_SETTINGS)
    if key is None:
        return _redact_cached(text, dialect)
    known = _by_fast_key.get((key, dialect))
    return known if known is not None else _redact_shape(text, dialect, key)


_by_fast_key: dict[tuple[str, str], RedactedStatement] = {}


def _redact_shape(text: str, dialect: str, key: str) -> RedactedStatement:
    try:
        redacted = _sql(text, dialect)
    except (LexError, RecursionError, ValueError):
        return _fallback(text)  # from the text itself: not kept under the key
    if len(_by_fast_key) >= FAST_MEMO_ENTRIES:
        _by_fast_key.clear()  # bounded; what repeats comes back at once
    _by_fast_key[(key, dialect)] = redacted
    return redacted


@lru_cache(maxsize=4096)
def _redact_cached(text: str, dialect: str) -> RedactedStatement:
    return _redact(text, dialect)


def _redact(text: str, dialect: str) -> RedactedStatement:
    if dialect not in _SQL_DIALECTS:
        return _request_line(text) if dialect == "" and " /" in text[:16] else _fallback(text)
    try:
        return _sql(text, dialect)
    except (LexError, RecursionError, ValueError):
        return _fallback(text)


def truncate(text: str, limit: int) -> str:
    return text if limit <= 0 or len(text) <= limit else text[:limit] + "…"
