"""A small SQL lexer that cuts text exactly where the server does.

Theory of operation. The classifier never trusts sqlglot's tokenizer with the raw text:
a disagreement between it and the server about where a string, a comment or a
statement ends is the classic way to hide a write behind a read (``'a\\'; DELETE …``
means two statements to PostgreSQL with standard_conforming_strings on, one to a
backslash-escaping tokenizer). This module is the single source of lexical truth:

- it follows the server's rules for the dialect and the session's `ParseSettings`
  (PostgreSQL: nested ``/* */`` comments, ``--`` cut out of operators, ``E''``,
  ``U&''``/``U&""`` with UESCAPE, dollar quoting, standard_conforming_strings; MySQL:
  ``#`` and ``-- `` comments, backslash escapes unless NO_BACKSLASH_ESCAPES, ``"…"``
  strings unless ANSI_QUOTES, identifiers that start with digits, executable comments
  ``/*! … */``, ``/*!50000 … */`` and ``/*M! … */``, optimizer hints ``/*+ … */``);
- it drops ordinary comments and replaces every literal value by a placeholder
  (``'?'`` for strings, ``0`` for numbers), which is what makes the fingerprint;
- anything it does not recognise (a stray character, NUL, an unterminated literal or
  comment, a nested executable comment) raises `LexError`, which classifies as unknown.

Executable comments are code on the server. Unversioned ``/*! … */`` always runs, so
its content is lexed as ordinary text. Versioned ones and MariaDB's ``/*M! … */`` run
on some servers only; the lexer reports them and is run twice (``conditional=True``:
content present; ``False``: a plain comment) so the classifier can take the stricter
reading of the two.

The token ``text`` is canonical: re-lexing the rendered tokens gives the same tokens,
so the fingerprint string is itself valid input and the classification can be made a
function of the fingerprint alone (see fingerprint.py).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from wardgate.classify.context import ParseSettings
from wardgate.classify.model import words

WORD = "word"  # keyword or unquoted identifier
QIDENT = "qident"  # quoted identifier
STRING = "string"
NUMBER = "number"
OP = "op"
PUNCT = "punct"
PARAM = "param"  # $1 (PostgreSQL), ? (MySQL)
VAR = "var"  # @user, @@system (MySQL)
HINT = "hint"  # /*+ … */ optimizer hint (MySQL)

STRING_TEXT = "'?'"
NUMBER_TEXT = "0"

#: PostgreSQL truncates identifiers to NAMEDATALEN-1 bytes.
PG_MAX_IDENTIFIER_BYTES = 63

_WS = r"[ \t\n\r\f\v]+"
_PG_OP_CHARS = "+-*/<>=~!@#%^&|`?"
_PG_OP_KEEP_TRAILING = set("~!@#%^&|`?")
_MY_IDENT = r"A-Za-z0-9_$\u0080-\uffff"


#: PostgreSQL's built-in operators. Any other operator may be user-defined (and call any
#: function), or be cut differently by sqlglot's tokenizer (``%%%``): unknown.
PG_BUILTIN_OPERATORS = words(
    """
    + - * / % ^ |/ ||/ @ & | # ~ << >> = <> != < > <= >= || ~~ ~~* !~~ !~~* ~* !~ !~*
    @@ @@@ @> <@ && ? ?| ?& -> ->> #> #>> #- @? <-> <<| |>> &< &> &<| |&> -|- ?# ?-
    ?-| ?|| ## <^ >^ ~= @-@ <#> <<= >>= ^@ =>
    """
)


class LexError(ValueError):
    """The text cannot be lexed the way the server would; classify as unknown."""


class Token(NamedTuple):
    """One token: its kind, canonical text, and a lookup key.

    ``key`` is the upper-cased word for WORD, the identifier value for QIDENT, the
    source text for STRING (so a MySQL ``PREPARE … FROM '…'`` body can be decoded),
    and the text otherwise.
    """

    kind: str
    text: str
    key: str


class Lexed(NamedTuple):
    tokens: list[Token]
    conditional: bool  # a versioned or /*M! executable comment was seen


def _compile(parts: list[tuple[str, str]]) -> re.Pattern[str]:
    """One pattern: optional whitespace, then one token (or the end of the text)."""
    alternatives = "|".join(f"(?P<{name}>{rx})" for name, rx in [*parts, ("tail", r"\Z")])
    return re.compile(f"(?:{_WS})?(?:{alternatives})", re.DOTALL)


def _pg_string_body(backslash: bool) -> str:
    return r"(?:[^'\\]|\\.|'')*" if backslash else r"(?:[^']|'')*"


def _pg_pattern(settings: ParseSettings) -> re.Pattern[str]:
    body = _pg_string_body(not settings.standard_conforming_strings)
    parts = [
        ("lc", r"--[^\n\r]*"),
        ("bc", r"/\*"),
        ("param", r"\$\d+"),
        ("dq", r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$"),
        ("estr", r"[eE]'" + _pg_string_body(True) + "'"),
        ("ustr", r"[uU]&'(?:[^']|'')*'"),
        ("uid", r'[uU]&"(?:[^"]|"")*"'),
        ("bstr", r"[bBxX]'[^']*'"),
        ("str", "[nN]?'" + body + "'"),
        ("qid", r'"(?:[^"]|"")+"'),
        (
            "num",
            r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
            r"|(?:\d[\d_]*(?:\.(?!\.)[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?",
        ),
        ("word", r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*"),
        ("op", "[" + re.escape(_PG_OP_CHARS) + "]+"),
        ("punct", r"::|[(),;\[\].:]"),
    ]
    return _compile(parts)


def _my_string(quote: str, backslash: bool) -> str:
    inner = (
        rf"(?:[^{quote}\\]|\\.|{quote}{quote})*"
        if backslash
        else rf"(?:[^{quote}]|{quote}{quote})*"
    )
    return quote + inner + quote


def _my_pattern(settings: ParseSettings) -> re.Pattern[str]:
    backslash = not settings.no_backslash_escapes
    single = _my_string("'", backslash)
    double = _my_string('"', backslash)
    quoted_var = "|".join([single, double, r"`(?:[^`]|``)*`"])
    parts = [
        ("lc", r"(?:#|--(?=[\x00-\x20\x7f]|$))[^\n]*"),
        ("bc", r"/\*"),
        ("close", r"\*/"),
        ("bstr", r"[xX]'[0-9a-fA-F]*'|[bB]'[01]*'"),
        ("str", "[nN]?" + single + ("" if settings.ansi_quotes else "|" + double)),
        ("qid", r"`(?:[^`]|``)+`" + (r'|"(?:[^"]|"")+"' if settings.ansi_quotes else "")),
        (
            "num",
            r"(?:0x[0-9a-fA-F]+|0b[01]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
            rf"(?![{_MY_IDENT}])",
        ),
        ("word", rf"[{_MY_IDENT}]*[A-Za-z_$\u0080-\uffff][{_MY_IDENT}]*"),
        ("null", r"\\N"),
        ("var", rf"@@[{_MY_IDENT}.]+|@(?:[{_MY_IDENT}.]+|{quoted_var})"),
        ("param", r"\?"),
        ("op", r"<=>|->>|->|<=|>=|<>|!=|<<|>>|&&|\|\||:=|[-+*/%=<>!~^&|]"),
        ("punct", r"[(),;.{}:@]"),
    ]
    return _compile(parts)


_PATTERNS: dict[tuple[str, ParseSettings], re.Pattern[str]] = {}


def _pattern(dialect: str, settings: ParseSettings) -> re.Pattern[str]:
    key = (dialect, settings)
    pattern = _PATTERNS.get(key)
    if pattern is None:
        pattern = _pg_pattern(settings) if dialect == "postgres" else _my_pattern(settings)
        _PATTERNS[key] = pattern
    return pattern


LexKey = tuple[str, str, ParseSettings, bool]
#: The last text lexed and its result: the classifier and the audit's redaction
#: (`wardgate.audit.statement`) lex the same statement back to back.
_last: tuple[LexKey, Lexed] | None = None


def lex(text: str, dialect: str, settings: ParseSettings, conditional: bool = True) -> Lexed:
    """Tokens of `text` as the server of `dialect` sees them under `settings`."""
    global _last
    key = (text, dialect, settings, conditional)
    last = _last
    if last is not None and last[0] == key:
        return Lexed(list(last[1].tokens), last[1].conditional)  # callers own their list
    lexed = _lex(text, dialect, settings, conditional)
    _last = (key, Lexed(list(lexed.tokens), lexed.conditional))
    return lexed


def _lex(text: str, dialect: str, settings: ParseSettings, conditional: bool) -> Lexed:
    if "\x00" in text:
        raise LexError("NUL character in statement text")
    if dialect == "postgres":
        return Lexed(_PgLexer(text, settings).run(), False)
    lexer = _MyLexer(text, settings, conditional)
    return Lexed(lexer.run(), lexer.saw_conditional)


# --------------------------------------------------------------------------- PostgreSQL


def fold_pg_identifier(word: str) -> str:
    """PostgreSQL folds unquoted identifiers to lower case (ASCII letters only)."""
    return truncate_pg_identifier(word.lower() if word.isascii() else _ascii_lower(word))


def _ascii_lower(word: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in word)


def truncate_pg_identifier(name: str) -> str:
    encoded = name.encode("utf-8")
    if len(encoded) <= PG_MAX_IDENTIFIER_BYTES:
        return name
    return encoded[:PG_MAX_IDENTIFIER_BYTES].decode("utf-8", errors="ignore")


def quote_pg_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_UESCAPE = re.compile(r"[ \t\n\r\f\v]*[uU][eE][sS][cC][aA][pP][eE][ \t\n\r\f\v]*'([^'])'")
_COMMENT_EDGE = re.compile(r"/\*|\*/")


class _Lexer:
    """The shared scanning loop; words and punctuation take an inlined fast path.

    Word tokens are memoised per dialect (keywords and table names repeat endlessly);
    the memo is capped so an agent inventing names cannot grow it without bound.
    """

    dialect = ""
    words: dict[str, Token] = {}

    def __init__(self, text: str, settings: ParseSettings) -> None:
        self.text = text
        self.settings = settings
        self.pattern = _pattern(self.dialect, settings)
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        text, match, append = self.text, self.pattern.match, self.tokens.append
        words, puncts = self.words, _PUNCT_TOKENS
        pos, end = 0, len(text)
        while pos < end:
            found = match(text, pos)
            if found is None:
                raise LexError(f"unexpected character {text[pos]!r} at offset {pos}")
            group = found.lastgroup
            if group == "word":
                raw = found.group(group)
                append(words.get(raw) or self._new_word(raw))
                pos = found.end()
            elif group == "punct":
                append(puncts[found.group(group)])
                pos = found.end()
            elif group == "tail":
                break
            else:
                pos = getattr(self, "_" + str(group))(found)
        return self.tokens

    def _new_word(self, raw: str) -> Token:
        token = self._word_token(raw)
        if len(self.words) < _WORD_MEMO_LIMIT and len(raw) <= _WORD_MEMO_MAX_CHARS:
            self.words[raw] = token
        return token

    def _word_token(self, raw: str) -> Token:
        return Token(WORD, raw, raw.upper())

    def _add(self, kind: str, text: str, key: str | None = None) -> None:
        self.tokens.append(Token(kind, text, text if key is None else key))

    def _lc(self, match: re.Match[str]) -> int:
        return match.end()

    def _num(self, match: re.Match[str]) -> int:
        self.tokens.append(_NUMBER_TOKEN)
        return match.end()


_WORD_MEMO_LIMIT = 50_000
_WORD_MEMO_MAX_CHARS = 64
_NUMBER_TOKEN = Token(NUMBER, NUMBER_TEXT, NUMBER_TEXT)
_PUNCT_TOKENS = {
    text: Token(PUNCT, text, text)
    for text in ["::", "(", ")", ",", ";", "[", "]", ".", ":", "{", "}", "@"]
}


def _body(match: re.Match[str]) -> tuple[int, str]:
    """Start and text of the token a match found (after its leading whitespace)."""
    group = str(match.lastgroup)
    return match.start(group), match.group(group)


class _PgLexer(_Lexer):
    dialect = "postgres"
    words: dict[str, Token] = {}

    def _word_token(self, raw: str) -> Token:
        word = fold_pg_identifier(raw)
        if word == "uescape":
            raise LexError("UESCAPE not directly after a U& literal")
        return Token(WORD, word, word.upper())

    def _bc(self, match: re.Match[str]) -> int:
        depth, pos = 0, match.start("bc")
        while True:
            edge = _COMMENT_EDGE.search(self.text, pos)
            if edge is None:
                raise LexError("unterminated /* comment")
            depth += 1 if edge.group() == "/*" else -1
            pos = edge.end()
            if depth == 0:
                return pos

    def _param(self, match: re.Match[str]) -> int:
        self._add(PARAM, match.group("param"))
        return match.end()

    def _dq(self, match: re.Match[str]) -> int:
        tag = match.group("dq")
        close = self.text.find(tag, match.end())
        if close < 0:
            raise LexError("unterminated dollar-quoted string")
        return self._string(close + len(tag))

    def _string(self, end: int) -> int:
        self.tokens.append(_STRING_TOKEN)
        return end

    def _estr(self, match: re.Match[str]) -> int:
        return self._string(match.end())

    _bstr = _estr
    _str = _estr

    def _ustr(self, match: re.Match[str]) -> int:
        if not self.settings.standard_conforming_strings:
            raise LexError("U&'' string while standard_conforming_strings is off")
        escape = _UESCAPE.match(self.text, match.end())
        return self._string(escape.end() if escape else match.end())

    def _uid(self, match: re.Match[str]) -> int:
        escape = _UESCAPE.match(self.text, match.end())
        char = escape.group(1) if escape else "\\"
        value = decode_unicode_escapes(match.group("uid")[3:-1].replace('""', '"'), char)
        self._ident(value)
        return escape.end() if escape else match.end()

    def _qid(self, match: re.Match[str]) -> int:
        self._ident(match.group("qid")[1:-1].replace('""', '"'))
        return match.end()

    def _ident(self, value: str) -> None:
        value = truncate_pg_identifier(value)
        if not value:
            raise LexError("zero-length quoted identifier")
        self._add(QIDENT, quote_pg_identifier(value), value)

    def _op(self, match: re.Match[str]) -> int:
        start, op = _body(match)
        for marker in ("--", "/*"):
            cut = op.find(marker)
            if cut >= 0:
                op = op[:cut]
        while len(op) > 1 and op[-1] in "+-" and not _PG_OP_KEEP_TRAILING.intersection(op):
            op = op[:-1]
        if not op:  # cannot happen: comments are matched before operators
            raise LexError("operator starts with a comment marker")
        self._add(OP, op)
        return start + len(op)


_STRING_TOKEN = Token(STRING, STRING_TEXT, STRING_TEXT)


def decode_unicode_escapes(body: str, escape: str) -> str:
    """Decode PostgreSQL U& escapes (``\\XXXX``, ``\\+XXXXXX``, doubled escape char)."""
    if escape in "0123456789abcdefABCDEF+'\" \t\n\r\f\v":
        raise LexError("invalid UESCAPE character")
    out: list[str] = []
    pos = 0
    while pos < len(body):
        ch = body[pos]
        if ch != escape:
            out.append(ch)
            pos += 1
            continue
        pos = _decode_one_escape(body, pos + 1, escape, out)
    return "".join(out)


def _decode_one_escape(body: str, pos: int, escape: str, out: list[str]) -> int:
    if body[pos : pos + 1] == escape:
        out.append(escape)
        return pos + 1
    width = 6 if body[pos : pos + 1] == "+" else 4
    start = pos + 1 if width == 6 else pos
    digits = body[start : start + width]
    if len(digits) != width or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise LexError("invalid Unicode escape")
    code = int(digits, 16)
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise LexError("invalid Unicode escape value")
    out.append(chr(code))
    return start + width


# --------------------------------------------------------------------------- MySQL

_VERSION = re.compile(r"\d*")


class _MyLexer(_Lexer):
    dialect = "mysql"
    words: dict[str, Token] = {}

    def __init__(self, text: str, settings: ParseSettings, conditional: bool) -> None:
        super().__init__(text, settings)
        self.conditional = conditional
        self.in_exec = False
        self.saw_conditional = False

    def run(self) -> list[Token]:
        tokens = super().run()
        if self.in_exec:
            raise LexError("unterminated executable comment")
        return tokens

    def _bc(self, match: re.Match[str]) -> int:
        start = match.end()
        if self.in_exec:
            raise LexError("comment inside an executable comment")
        if self.text.startswith("!", start):
            return self._executable(start + 1, mariadb=False)
        if self.text.startswith("M!", start):
            return self._executable(start + 2, mariadb=True)
        close = self.text.find("*/", start)
        if close < 0:
            raise LexError("unterminated /* comment")
        if self.text.startswith("+", start):
            self._add(HINT, "/*+ " + " ".join(self.text[start + 1 : close].split()) + " */")
        return close + 2

    def _executable(self, pos: int, mariadb: bool) -> int:
        version = _VERSION.match(self.text, pos)
        assert version is not None
        digits = version.group()
        if digits and len(digits) not in (5, 6):
            raise LexError("malformed executable comment version")
        if mariadb or digits:
            self.saw_conditional = True
            if not self.conditional:
                close = self.text.find("*/", pos)
                if close < 0:
                    raise LexError("unterminated /* comment")
                return close + 2
        self.in_exec = True
        return version.end()

    def _close(self, match: re.Match[str]) -> int:
        if not self.in_exec:  # a multiplication followed by whatever "/" starts
            self._add(OP, "*")
            return match.start("close") + 1
        self.in_exec = False
        return match.end()

    def _bstr(self, match: re.Match[str]) -> int:
        self._add(STRING, STRING_TEXT, _body(match)[1])
        return match.end()

    _str = _bstr

    def _qid(self, match: re.Match[str]) -> int:
        raw = match.group("qid")
        quote = raw[0]
        value = raw[1:-1].replace(quote + quote, quote)
        self._add(QIDENT, "`" + value.replace("`", "``") + "`", value)
        return match.end()

    def _null(self, match: re.Match[str]) -> int:
        self._add(WORD, "NULL", "NULL")
        return match.end()

    def _var(self, match: re.Match[str]) -> int:
        self._add(VAR, match.group("var"))
        return match.end()

    def _param(self, match: re.Match[str]) -> int:
        self._add(PARAM, "?")
        return match.end()

    def _op(self, match: re.Match[str]) -> int:
        self._add(OP, match.group("op"))
        return match.end()


_MY_ESCAPES = {"0": "\x00", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def decode_mysql_string(source: str, settings: ParseSettings) -> str:
    """The value of a MySQL string literal token's source text."""
    start = source.index(source[-1])  # skip an N prefix
    quote = source[-1]
    body = source[start + 1 : -1]
    if settings.no_backslash_escapes:
        return body.replace(quote + quote, quote)
    out: list[str] = []
    pos = 0
    while pos < len(body):
        ch = body[pos]
        if ch == "\\" and pos + 1 < len(body):
            nxt = body[pos + 1]
            out.append(_MY_ESCAPES.get(nxt, "\\" + nxt if nxt in "%_" else nxt))
            pos += 2
        elif ch == quote:  # a doubled quote
            out.append(quote)
            pos += 2
        else:
            out.append(ch)
            pos += 1
    return "".join(out)
