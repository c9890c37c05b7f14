"""The `upstream:` block of a mysql resource, and the TLS context it implies."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Literal

TlsMode = Literal["disable", "prefer", "require", "verify-full"]


@dataclass(frozen=True, slots=True)
class MySQLUpstream:
    """Where the database is and how to reach it.

    `tls`: disable (never), prefer (when offered, unverified), require (or fail,
    unverified), verify-full (or fail; certificate checked against `ca_file` or the
    system store, and the host name). `unix_socket` wins over host/port.
    """

    host: str = "127.0.0.1"
    port: int = 3306
    database: str = ""
    tls: TlsMode = "prefer"
    ca_file: str | None = None
    unix_socket: str | None = None
    server_name: str | None = None  # for verify-full when `host` is an address

    @property
    def address(self) -> str:
        return self.unix_socket or f"{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls == "disable":
            return None
        if self.tls == "verify-full":
            return ssl.create_default_context(cafile=self.ca_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
