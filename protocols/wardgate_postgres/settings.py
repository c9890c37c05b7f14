"""Upstream settings of a PostgreSQL resource (`resources[].upstream`).

A plain dataclass: the core validates the YAML mapping into it, the plugin never
sees YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TlsMode = Literal["disable", "prefer", "require", "verify-full"]


@dataclass(frozen=True, slots=True)
class PostgresUpstream:
    """Where the real server is. `host` starting with "/" is a Unix socket directory."""

    host: str = "127.0.0.1"
    port: int = 5432
    database: str = "postgres"
    tls: TlsMode = "prefer"
    ca_file: str | None = None
    server_name: str | None = None

    @property
    def is_unix(self) -> bool:
        return self.host.startswith("/")

    @property
    def socket_path(self) -> str:
        return f"{self.host.rstrip('/')}/.s.PGSQL.{self.port}"
