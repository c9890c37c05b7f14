"""Header rules of the proxy: who is asking, what goes upstream, what comes back.

Pure functions over h11's header lists (lower-case names as bytes). RFC 9110 §7.6.1
hop-by-hop headers never cross wardgate; the headers that carry the agent's
wardgate credential never reach the upstream; the upstream credential is added
here and never appears in anything sent back to the agent.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence

Headers = Sequence[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"expect",
        b"content-length",  # re-derived by h11 from the body we actually send
        b"host",
    }
)


def header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def connection_tokens(headers: Headers) -> set[bytes]:
    tokens: set[bytes] = set()
    for key, value in headers:
        if key == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return tokens


def presented_secret(headers: Headers, names: Sequence[str]) -> tuple[str, str] | None:
    """(secret, user) from the first identity header present, in `names` order.

    `Bearer TOKEN`, or `Basic base64(user:TOKEN)` (the token as the password, like
    the database protocols), or a bare value for key headers such as `x-api-key`.
    """
    for name in names:
        value = header(headers, name.lower().encode())
        if value is not None:
            return _parse_credential(value.decode("latin-1").strip())
    return None


def _parse_credential(value: str) -> tuple[str, str]:
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip(), ""
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        user, _, password = decoded.partition(":")
        return password, user
    return value, ""


def upstream_headers(
    headers: Headers,
    *,
    strip: Iterable[str],
    host: str,
    inject: Mapping[str, str],
    forwarded_for: str,
    keep: Iterable[bytes] = (),
    accept_identity: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The request headers the upstream gets."""
    named = connection_tokens(headers)
    dropped = HOP_BY_HOP | named | {n.lower().encode() for n in strip}
    dropped |= {n.lower().encode() for n in inject}
    dropped -= set(keep)
    out = [(b"host", host.encode())]
    out += [(k, v) for k, v in headers if k not in dropped and k != b"x-forwarded-for"]
    previous = header(headers, b"x-forwarded-for")
    chain = f"{previous.decode('latin-1')}, {forwarded_for}" if previous else forwarded_for
    out.append((b"x-forwarded-for", chain.encode("latin-1")))
    if accept_identity:
        out = [(k, v) for k, v in out if k != b"accept-encoding"]
        out.append((b"accept-encoding", b"identity"))
    out += [(k.lower().encode(), v.encode("latin-1")) for k, v in inject.items()]
    return out


def client_headers(
    headers: Headers, secrets: Iterable[str], *, drop_length: bool, keep: Iterable[bytes] = ()
) -> list[tuple[bytes, bytes]]:
    """The response headers the agent gets: no hop-by-hop, no upstream credential."""
    named = connection_tokens(headers)
    dropped = (HOP_BY_HOP | named) - {b"content-length"} - set(keep)
    if drop_length:
        dropped |= {b"content-length", b"content-encoding"}
    values = [s.encode("latin-1", "replace") for s in secrets if len(s) >= 4]
    out = []
    for key, value in headers:
        if key in dropped:
            continue
        if any(secret in value for secret in values):
            value = b"[wardgate: credential removed]"
        out.append((key, value))
    return out


def content_type(headers: Headers) -> str:
    value = header(headers, b"content-type") or b""
    return value.split(b";", 1)[0].strip().lower().decode("latin-1")


def is_json(headers: Headers) -> bool:
    kind = content_type(headers)
    return kind == "application/json" or kind.endswith("+json")


def is_sse(headers: Headers) -> bool:
    return content_type(headers) == "text/event-stream"


def content_encoding(headers: Headers) -> str:
    value = header(headers, b"content-encoding") or b"identity"
    return value.strip().lower().decode("latin-1")
