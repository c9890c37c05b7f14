"""The fast shape key: plain literals blanked by two C-speed regexes, no lexer.

A literal-bearing statement (``… WHERE aid = 12345``) never repeats as text, but its
shape does. `fast_key` turns plain numbers and plain ``'…'`` strings into one-character
marks — ``\\x00`` and ``\\x01`` — and accepts the result only if everything left is
text the regex understands completely. Then the classification (`Classifier`) and the
audit's redaction (`wardgate.audit.statement`) are memoised by that key, and a
repeated shape costs two ``re.sub`` and a dict lookup instead of a lex in Python.

Soundness (the memos rely on it). Claim: for PostgreSQL, if two texts have the same
fast key under the same `ParseSettings`, the lexer gives both the same tokens — so the
same fingerprints, the same classification (see fingerprint.py) and the same
redaction. Proof sketch, for an accepted text ``T`` with key ``K``:

1. *Marks are literal tokens.* A blanked region starts at the start of the text or
   after a separator (whitespace, ``( ) , ; : [ ] = < > + - * / % ^ | ! ~ @ # ?``);
   numbers must also be followed by one (or the end). None of those characters can
   continue a token into a quote or a digit, so the lexer starts a token there, and:
   a string region is matched by the lexer's own ``'(?:[^']|'')*'`` (no ``E``/``U&``/
   ``B``/``X``/``N`` prefix can precede it: letters and ``&`` are not separators); a
   number region ``\\d+(\\.\\d+)?`` is exactly the lexer's number there (no ``x``/``o``/
   ``b``, ``_``, ``e`` exponent or second ``.`` can follow a separator-bounded run).
   PostgreSQL's string and number tokens carry no value, so every mark yields one
   fixed token.
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

Hence the tokens are a function of ``K``, and whatever is computed from the tokens
and the memo's other key parts (dialect, settings, database) is too. Keeping more text
(whitespace, case) in the key than the fingerprint does only costs hit rate. MySQL has
no fast key: its string tokens keep their source (``PREPARE … FROM '…'`` is classified
by its literal), and backslash escapes, ``#`` comments, ``"`` strings and executable
comments would each need their own argument.
"""

from __future__ import annotations

import re

from wardgate.classify.context import ParseSettings

NUMBER_MARK = "\x00"
STRING_MARK = "\x01"
#: Texts longer than this get no key: bounds the memos and stays far below any
#: `Classifier.max_chars` (a longer text is classified as unknown by length).
MAX_CHARS = 2048

#: Characters a blanked literal may sit next to: none can continue a token into it.
_SEP = r" \t\n\r\f\v(),;:\[\]=<>+\-*/%^|!~@#?"
_STRING = re.compile(r"'(?<![^" + _SEP + r"]')(?:[^']|'')*'")
_NUMBER = re.compile(r"[0-9](?<![^" + _SEP + r"][0-9])[0-9]*(?:\.[0-9]+)?(?=[" + _SEP + r"]|\Z)")
#: Anything outside the alphabet of step 2 (the marks are part of the key).
_FOREIGN = re.compile(r"[^A-Za-z0-9_ \t\n\r\f\v(),;:\[\].=<>+\-*/%^|!~@#?&\x00\x01]")
#: A digit that does not continue a name: a number the fast path did not blank.
_LONE_DIGIT = re.compile(r"[0-9](?<![A-Za-z0-9_][0-9])")

_last: tuple[str, bool, str | None] | None = None


def fast_key(text: str, dialect: str, settings: ParseSettings) -> str | None:
    """`text` with plain literals blanked, or None when the lexer must decide.

    Equal keys (with equal `dialect` and `settings`) mean equal tokens; see the
    module docstring. The last answer is kept: the classifier and the audit's
    redaction ask about the same text back to back.
    """
    if dialect != "postgres" or len(text) > MAX_CHARS:
        return None
    backslash_escapes = not settings.standard_conforming_strings
    global _last
    last = _last
    if last is not None and last[0] is text and last[1] == backslash_escapes:
        return last[2]
    key = _key(text, backslash_escapes)
    _last = (text, backslash_escapes, key)
    return key


def _key(text: str, backslash_escapes: bool) -> str | None:
    if NUMBER_MARK in text or STRING_MARK in text:
        return None
    if backslash_escapes and "\\" in text:
        return None
    key = _NUMBER.sub(NUMBER_MARK, _STRING.sub(STRING_MARK, text))
    if "--" in key or "/*" in key or _FOREIGN.search(key) or _LONE_DIGIT.search(key):
        return None
    return key
