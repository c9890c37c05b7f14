"""The fast shape key: plain literals blanked by two C-speed regexes, no lexer.

A literal-bearing statement (``… WHERE aid = 12345``) never repeats as text, but its
shape does. `fast_key` turns plain numbers and plain ``'…'`` strings into one-character
marks — ``\\x00`` and ``\\x01`` — and accepts the result only if everything left is
text the regex understands completely. Then the classification (`Classifier`) and the
audit's redaction (`wardgate.audit.statement`) are memoised by that key, and a
repeated shape costs two ``re.sub`` and a dict lookup instead of a lex in Python.

Soundness (the memos rely on it). Claim: if two texts have the same fast key under the
same dialect and `ParseSettings`, the lexer gives both the same tokens up to the
values of their literals — the same fingerprints, so the same classification (see
fingerprint.py) and the same redaction. Proof sketch, for an accepted text ``T`` with
key ``K`` (PostgreSQL; MySQL differences after it):

1. *Marks are literal tokens.* A blanked region starts at the start of the text or
   after a separator (whitespace, ``( ) , ; : [ ] = < > + - * / % ^ | ! ~ @ # ?``);
   numbers must also be followed by one (or the end). None of those characters can
   continue a token into a quote or a digit, so the lexer starts a token there, and:
   a string region is matched by the lexer's own ``'(?:[^']|'')*'`` (no ``E``/``U&``/
   ``B``/``X``/``N`` prefix can precede it: letters and ``&`` are not separators); a
   number region ``\\d+(\\.\\d+)?`` is exactly the lexer's number there (no ``x``/``o``/
   ``b``, ``_``, ``e`` exponent or second ``.`` can follow a separator-bounded run).
2. *The rest is lexed from the rest alone.* What is left outside the marks may hold
   only ASCII letters, digits, ``_``, the lexer's whitespace, ``( ) , ; : [ ] .`` and
   operator characters ``= < > + - * / % ^ | ! ~ @ # ? &`` — no quote of either kind,
   ``$``, backslash, backtick, brace or control character — and neither ``--`` nor
   ``/*``. Every digit must continue a name (``t1``): a digit that does not, such as
   ``1e5``, ``.5``, ``0x1F`` or ``1_000``, rejects the text. So no comment, string,
   dollar quote, quoted identifier, parameter or number starts outside the marks;
   names and operators end at the first character that cannot continue them, which
   is never inside a mark (a mark is never next to a name character); and every
   allowed character is one the lexer accepts, so it raises no offset-bearing error
   (``uescape`` as a name raises one fixed message).
3. *Nothing else is read.* The text has no NUL (the lexer rejects NUL anywhere, even
   inside a string) and no ``\\x01``, so marks are unambiguous. With
   ``standard_conforming_strings`` off a backslash would escape a quote: such a text
   has no key; without backslashes both settings cut strings alike.

PostgreSQL's string and number tokens carry no value, so there the tokens are a
function of ``K``. MySQL's string tokens keep their source for one purpose, ``PREPARE
name FROM '<sql>'`` (its fingerprint keeps the literal): a text with ``prepare``
anywhere outside the marks has no key, and every other fingerprint reads only token
kinds, texts (``'?'`` for every string) and the keys of words. MySQL also differs in
steps 1 and 2: the string pattern is the lexer's for the settings (backslash escapes
unless NO_BACKSLASH_ESCAPES); ``@`` (user variables, ``@'x'``, ``@1``), ``&``, ``#``
(a comment), ``[`` and ``]`` (not MySQL tokens) are not separators, and ``#``, ``[``,
``]`` cannot stay outside the marks; ``"`` (a string or, with ANSI_QUOTES, a name),
backticks, ``--`` and ``/*`` (comments, executable comments and hints) reject the
text as in step 2; names may start with a digit, which step 2's rule already refuses.

Whatever is computed from the tokens and the memo's other key parts (dialect,
settings, database) is therefore a function of the key. Keeping more text
(whitespace, case) in the key than the fingerprint does only costs hit rate.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from wardgate.classify.context import ParseSettings

NUMBER_MARK = "\x00"
STRING_MARK = "\x01"
#: Texts longer than this get no key: bounds the memos and stays far below any
#: `Classifier.max_chars` (a longer text is classified as unknown by length).
MAX_CHARS = 2048

#: Characters a blanked literal may sit next to: none can continue a token into it.
_PG_SEP = r" \t\n\r\f\v(),;:\[\]=<>+\-*/%^|!~@#?"
_MY_SEP = r" \t\n\r\f\v(),;:=<>+\-*/%^|!~?"
#: What may stay outside the marks (step 2), marks included.
_PG_ALPHABET = r"A-Za-z0-9_ \t\n\r\f\v(),;:\[\].=<>+\-*/%^|!~@#?&\x00\x01"
_MY_ALPHABET = r"A-Za-z0-9_ \t\n\r\f\v(),;:.=<>+\-*/%^|!~?&@\x00\x01"
_PLAIN_BODY = r"(?:[^']|'')*"
_ESCAPING_BODY = r"(?:[^'\\]|\\.|'')*"  # MySQL unless NO_BACKSLASH_ESCAPES
#: A digit that does not continue a name: a number the fast path did not blank.
_LONE_DIGIT = re.compile(r"[0-9](?<![A-Za-z0-9_][0-9])")
#: MySQL ``PREPARE name FROM '<sql>'`` is classified by its literal (fingerprint.py).
_PREPARE = re.compile(r"prepare", re.IGNORECASE)


class _Grammar(NamedTuple):
    string: re.Pattern[str]
    number: re.Pattern[str]
    foreign: re.Pattern[str]


def _grammar(sep: str, alphabet: str, body: str) -> _Grammar:
    return _Grammar(
        re.compile(r"'(?<![^" + sep + r"]')" + body + "'", re.DOTALL),
        re.compile(r"[0-9](?<![^" + sep + r"][0-9])[0-9]*(?:\.[0-9]+)?(?=[" + sep + r"]|\Z)"),
        re.compile(r"[^" + alphabet + "]"),
    )


#: (dialect, backslash escapes in strings) → the grammar. PostgreSQL with backslash
#: escapes (standard_conforming_strings off) has none: a backslash rejects the text,
#: and without one both settings cut strings alike.
_GRAMMARS = {
    ("postgres", False): _grammar(_PG_SEP, _PG_ALPHABET, _PLAIN_BODY),
    ("postgres", True): _grammar(_PG_SEP, _PG_ALPHABET, _PLAIN_BODY),
    ("mysql", False): _grammar(_MY_SEP, _MY_ALPHABET, _PLAIN_BODY),
    ("mysql", True): _grammar(_MY_SEP, _MY_ALPHABET, _ESCAPING_BODY),
}

_last: tuple[str, str, bool, str | None] | None = None


def fast_key(text: str, dialect: str, settings: ParseSettings) -> str | None:
    """`text` with plain literals blanked, or None when the lexer must decide.

    Equal keys (with equal `dialect` and `settings`) mean equal tokens; see the
    module docstring. The last answer is kept: the classifier and the audit's
    redaction ask about the same text back to back.
    """
    if len(text) > MAX_CHARS:
        return None
    if dialect == "postgres":
        escapes = not settings.standard_conforming_strings
    elif dialect == "mysql":
        escapes = not settings.no_backslash_escapes
    else:
        return None
    global _last
    last = _last
    if last is not None and last[0] is text and last[1] == dialect and last[2] == escapes:
        return last[3]
    key = _key(text, dialect, escapes)
    _last = (text, dialect, escapes, key)
    return key


def _key(text: str, dialect: str, escapes: bool) -> str | None:
    if NUMBER_MARK in text or STRING_MARK in text:
        return None
    if escapes and dialect == "postgres" and "\\" in text:
        return None
    grammar = _GRAMMARS[dialect, escapes]
    key = grammar.number.sub(NUMBER_MARK, grammar.string.sub(STRING_MARK, text))
    if "--" in key or "/*" in key or grammar.foreign.search(key) or _LONE_DIGIT.search(key):
        return None
    if dialect == "mysql" and _PREPARE.search(key):
        return None
    return key
