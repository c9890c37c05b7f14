"""The `upstream:` block of an `http` resource (docs/http.md).

A plain dataclass: the core validates the YAML mapping into it, the plugin never
sees YAML. Timeouts bound every wait on a client (slow-loris) and on the upstream.
Body masking is configured in the gateway's `masking:` section like every other
protocol's (docs/masking.md); `upstream.masking` is gone and refused with a hint.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

SecretAction = Literal["mask", "deny", "log"]
IDENTITY_HEADERS = ("proxy-authorization", "authorization", "x-api-key")


@dataclass(frozen=True, slots=True)
class HttpUpstream:
    """Where the service is, and the caps that keep one client from hurting others."""

    url: str = "http://127.0.0.1:80"
    ca_file: str | None = None
    server_name: str | None = None  # TLS name to verify when `url` has an address
    upgrades: tuple[str, ...] = ()  # e.g. ("websocket",): relayed blind once upstream says 101
    identity_headers: tuple[str, ...] = IDENTITY_HEADERS
    request_secrets: SecretAction = "mask"
    max_header_bytes: int = 16 * 1024
    max_inspect_bytes: int = 8 * 1024 * 1024  # JSON request bodies read whole for policy
    header_timeout: float = 10.0  # a request head must arrive within this
    idle_timeout: float = 60.0  # keep-alive connections with no request are closed
    body_timeout: float = 30.0  # longest silence inside a request body
    response_timeout: float = 300.0  # longest silence from the upstream (model latency)
    session_max_age: float = 60.0  # re-lease the credential at the next request after this
    lookbehind: int = 4096  # characters of streamed text held back at most (a PEM key fits)
    masking: Any = None  # removed in 0.2: refused, see __post_init__

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"upstream.url must be http(s)://host[:port][/prefix], got {self.url!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError("upstream.url must not carry a query or fragment")
        if self.request_secrets not in ("mask", "deny", "log"):
            raise ValueError("request_secrets must be mask, deny or log")
        if self.masking is not None:
            raise ValueError(
                "upstream.masking was removed: body masking now comes from the top-level "
                "`masking:` section (field paths as a rule's `fields`, value detectors as its "
                "`detectors`; the look-behind is upstream.lookbehind), see docs/http.md"
            )
        if self.lookbehind < 64:
            raise ValueError("upstream.lookbehind must be at least 64 characters")

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (443 if self.tls else 80)

    @property
    def prefix(self) -> str:
        """Path prefix every request is forwarded under ("" or "/base")."""
        return urlsplit(self.url).path.rstrip("/")

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """Verified TLS for https upstreams: system store or `ca_file`, host name checked."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        context.set_alpn_protocols(["http/1.1"])
        return context
