"""The request target as policy sees it and as the upstream gets it (RFC 3986 §6.2.2).

Policy globs match paths, so a path must have one spelling: unreserved characters
are percent-decoded, dot segments removed, and encodings a server might decode
into a different path (`%2F`, `%5C`, a backslash, NUL) are refused rather than
guessed at. The normalised path is the one forwarded, so policy and upstream
never disagree about which resource is asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_FORBIDDEN = ("%2f", "%5c", "\\", "%00")


class BadTarget(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Target:
    path: str
    query: str

    @property
    def forwarded(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


def parse_target(raw: str) -> Target:
    """origin-form (`/a/b?q`) or absolute-form (`http://host/a/b?q`, sent to proxies)."""
    if raw.startswith(("http://", "https://")):
        parts = urlsplit(raw)
        raw = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not raw.startswith("/"):
        raise BadTarget(f"unsupported request target {raw[:64]!r}")
    path, _, query = raw.partition("?")
    path = path.split("#", 1)[0]
    if any(bad in path.lower() for bad in _FORBIDDEN):
        raise BadTarget("encoded slashes, backslashes and NUL are not allowed in the path")
    return Target(remove_dot_segments(_decode_unreserved(path)), query)


def _decode_unreserved(path: str) -> str:
    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT.sub(decode, path)


def remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for segment in segments[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    trailing = segments[-1] in (".", "..")
    return "/" + "/".join(out) + ("/" if trailing and out else "")
