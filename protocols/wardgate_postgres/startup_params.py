"""Which StartupMessage parameters may pass to the upstream.

A client's start-up parameters become the upstream session's settings before any
statement is seen by policy, so they are an allow-list: nothing that can change
role or authorization, read-only state, the replication mode, or how later
statements are lexed (standard_conforming_strings, backslash_quote, multibyte
client encodings whose trailing bytes can be 0x5C and hide a quote or backslash —
GBK, SJIS, BIG5 …; see PostgreSQL's CVE-2006-2313/2314 notes) gets through.
`options` is parsed as the server would ("-c name=value" and "--name=value") and
each setting in it is held to the same allow-list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# GUCs a client may set at start-up (lower-case; GUC names are case-insensitive).
SAFE_SETTINGS = frozenset(
    {
        "application_name",
        "fallback_application_name",
        "client_encoding",
        "datestyle",
        "timezone",
        "intervalstyle",
        "extra_float_digits",
        "bytea_output",
        "client_min_messages",
        "lc_messages",
        "lc_monetary",
        "lc_numeric",
        "lc_time",
        "statement_timeout",
        "lock_timeout",
        "idle_in_transaction_session_timeout",
        "idle_session_timeout",
        "geqo",
        "jit",
        "enable_seqscan",
        "work_mem",
    }
)

# Parameters the gateway consumes itself instead of forwarding.
CONSUMED = frozenset({"user", "database"})

# Client encodings the gateway accepts; SQL text must decode unambiguously.
SAFE_ENCODINGS = frozenset({"utf8", "utf-8", "unicode", "sql_ascii"})
UNSAFE_MULTIBYTE = frozenset({"gbk", "sjis", "shift_jis", "big5", "gb18030", "uhc", "johab"})

FALSE_VALUES = frozenset({"", "0", "false", "off", "no", "f", "n"})


class StartupRefused(Exception):
    """A start-up the gateway will not pass on; `sqlstate` is what to answer."""

    def __init__(self, message: str, sqlstate: str = "08P01") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


@dataclass(frozen=True, slots=True)
class VettedStartup:
    user: str
    database: str
    application_name: str
    forwarded: dict[str, str]
    protocol_extensions: tuple[str, ...]


def parse_options(options: str) -> list[tuple[str, str]]:
    """Split a libpq `options` string into (name, value) settings.

    Raises StartupRefused for anything that is not a setting (e.g. `-D`, `-P`).
    """
    words = _split_words(options)
    settings: list[tuple[str, str]] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "-c" and index + 1 < len(words):
            setting, index = words[index + 1], index + 2
        elif (word.startswith("-c") and len(word) > 2) or (word.startswith("--") and "=" in word):
            setting, index = word[2:], index + 1
        else:
            raise StartupRefused(f"start-up option {word!r} is not allowed through wardgate")
        name, sep, value = setting.partition("=")
        if not sep:
            raise StartupRefused(f"start-up option {setting!r} has no value")
        settings.append((name.replace("-", "_"), value))
    return settings


def _split_words(options: str) -> list[str]:
    """Whitespace-separated words, with backslash escaping as the server applies it."""
    words: list[str] = []
    current: list[str] = []
    escaped = False
    for char in options:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _check_setting(name: str, value: str, source: str = "") -> None:
    key = name.lower()
    if key not in SAFE_SETTINGS:
        raise StartupRefused(
            f'{source}setting "{name}" may not be set at start-up through wardgate', "42501"
        )
    if key == "client_encoding":
        _check_encoding(value)


def _check_encoding(value: str) -> None:
    encoding = value.strip().strip("'\"").lower()
    if encoding in SAFE_ENCODINGS:
        return
    if encoding in UNSAFE_MULTIBYTE:
        raise StartupRefused(
            f'client_encoding "{value}" is refused: its multibyte characters can hide a '
            "quote or backslash; use UTF8",
            "22021",
        )
    raise StartupRefused(f'client_encoding "{value}" is not supported through wardgate; use UTF8')


def vet_startup(parameters: Mapping[str, str]) -> VettedStartup:
    """Decide what of a StartupMessage may reach the upstream."""
    if parameters.get("replication", "false").strip().lower() not in FALSE_VALUES:
        raise StartupRefused("replication connections are not allowed through wardgate", "42501")
    forwarded: dict[str, str] = {}
    extensions: list[str] = []
    for name, value in parameters.items():
        if name in CONSUMED or name == "replication":
            continue
        if name.startswith("_pq_."):
            extensions.append(name)
        elif name == "options":
            for option_name, option_value in parse_options(value):
                _check_setting(option_name, option_value, "options ")
                forwarded[option_name] = option_value
        else:
            _check_setting(name, value)
            forwarded[name] = value
    return VettedStartup(
        user=parameters.get("user", ""),
        database=parameters.get("database", ""),
        application_name=parameters.get("application_name", ""),
        forwarded=forwarded,
        protocol_extensions=tuple(extensions),
    )
