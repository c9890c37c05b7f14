"""Statement splitting and the literal-free fingerprint.

Soundness argument (the cache relies on it): the fingerprint of a statement is the
canonical rendering of its tokens — comments dropped, every literal value replaced
by ``'?'`` or ``0``, whitespace normalised, PostgreSQL identifiers folded as the server
folds them. On a cache miss the classifier does *not* look at the original text
again: it re-lexes the fingerprint string and classifies that. So the classification
is a function of (dialect, parse settings, fingerprint) and two statements with the
same fingerprint cannot classify differently. Whatever a literal's value could decide
(``SET sql_mode = '…'``, ``set_config('…', …)``) the rules must decide from the
shape alone; the one exception, MySQL ``PREPARE name FROM '<sql>'``, keeps its
literal in the fingerprint.

Three normalisations shrink the key space without changing any classification:
adjacent string literals become one (both servers concatenate them), literal-only
rows after ``VALUES`` collapse to the first (a bulk INSERT of any size has one
fingerprint), and a literal-only ``IN (…)`` list keeps its first item.
"""

from __future__ import annotations

from wardgate.classify.lexer import HINT, NUMBER, PARAM, PUNCT, QIDENT, STRING, WORD, Token

_LITERAL_KINDS = frozenset({STRING, NUMBER, PARAM})
_LITERAL_WORDS = frozenset({"NULL", "TRUE", "FALSE", "DEFAULT"})
_NAME_KINDS = frozenset({WORD, QIDENT})


def split_statements(tokens: list[Token]) -> list[list[Token]]:
    """Statements of a token list, cut at every ``;`` (empty statements dropped)."""
    statements: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.kind == PUNCT and token.text == ";":
            if current:
                statements.append(current)
            current = []
        else:
            current.append(token)
    if current:
        statements.append(current)
    return statements


def normalize(tokens: list[Token], keep_strings: bool = False) -> list[Token]:
    """Merge adjacent strings and collapse repeated literal rows after VALUES."""
    merged: list[Token] = []
    previous_string = False
    for token in tokens:
        is_string = token.kind == STRING
        if not (is_string and previous_string and not keep_strings):
            merged.append(token)
        previous_string = is_string
    if any(token.key in ("VALUES", "IN") for token in merged):
        return _collapse_values(merged)
    return merged


def _collapse_values(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        out.append(token)
        index += 1
        if token.kind == WORD and token.key == "VALUES":
            index = _copy_rows(tokens, index, out)
        elif token.kind == WORD and token.key == "IN":
            index = _squash_list(tokens, index, out)
    return out


def _copy_rows(tokens: list[Token], index: int, out: list[Token]) -> int:
    """Copy the literal-only row at `index`; skip the literal-only rows after it."""
    first = _literal_row(tokens, index)
    if first is None:
        return index
    out.extend(tokens[index:first])
    while _is_comma(tokens, first):
        nxt = _literal_row(tokens, first + 1)
        if nxt is None:
            break
        first = nxt
    return first


def _squash_list(tokens: list[Token], index: int, out: list[Token]) -> int:
    """``IN (1, 2, 3)`` → ``IN (0)``: how many literals a list holds decides nothing."""
    end = _literal_row(tokens, index)
    if end is None or end - index < 3 or tokens[index + 1].kind not in _LITERAL_KINDS:
        return index
    out.extend([tokens[index], tokens[index + 1], tokens[end - 1]])
    return end


def _is_comma(tokens: list[Token], index: int) -> bool:
    return index < len(tokens) and tokens[index].kind == PUNCT and tokens[index].text == ","


def _literal_row(tokens: list[Token], index: int) -> int | None:
    """End index (exclusive) of a parenthesised row of literals starting at `index`."""
    if index >= len(tokens) or tokens[index].text != "(" or tokens[index].kind != PUNCT:
        return None
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.kind == PUNCT and token.text == ")":
            return position + 1
        if not _is_literal_part(token):
            return None
    return None


def _is_literal_part(token: Token) -> bool:
    if token.kind in _LITERAL_KINDS:
        return True
    if token.kind == WORD:
        return token.key in _LITERAL_WORDS
    return token.text in {",", "-", "+"}


def render(tokens: list[Token], drop_hints: bool = False) -> str:
    """Canonical text of `tokens`: single spaces, none around a dot between names."""
    if drop_hints:
        tokens = [token for token in tokens if token.kind != HINT]
    texts = [token.text for token in tokens]
    if "." not in texts:
        return " ".join(texts)
    separators = [" "] * len(tokens)
    for position, text in enumerate(texts):
        if text == "." and tokens[position].kind == PUNCT and _dotted(tokens, position):
            separators[position] = separators[position + 1] = ""
    separators[0] = ""
    return "".join([sep + text for sep, text in zip(separators, texts, strict=True)])


def _dotted(tokens: list[Token], position: int) -> bool:
    """A dot between a name and a name (or ``*``): written ``a.b`` / ``t.*``."""
    if position == 0 or position + 1 >= len(tokens):
        return False
    before, after = tokens[position - 1], tokens[position + 1]
    return before.kind in _NAME_KINDS and (after.kind in _NAME_KINDS or after.text == "*")


def fingerprint(tokens: list[Token], keep_strings: bool = False) -> str:
    """The fingerprint of one statement's tokens."""
    return render(normalize(tokens, keep_strings))
