"""The validated shape of `wardgate.yaml` (DESIGN.md, "Configuration").

Sections the running gateway does not implement yet are rejected by
`extra="forbid"` rather than silently ignored, so a policy written for a newer
version never fails open on an older one.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_listen(value: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 in brackets); port 0 means any free port."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected host:port, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad port in {value!r}")
    return host, int(port)


class AdminConfig(Strict):
    listen: str = "127.0.0.1:8080"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


class StateConfig(Strict):
    url: str = "sqlite:///wardgate.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("state.url must be sqlite:///PATH or postgresql://…")
        return value


class StaticToken(Strict):
    name: Annotated[str, Field(min_length=1)]
    groups: tuple[str, ...] = ()
    sha256: str

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if not _HEX64.match(value.lower()):
            raise ValueError("sha256 must be 64 hex digits (see `wardgate token create`)")
        return value.lower()


class IdentityConfig(Strict):
    tokens: tuple[StaticToken, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> IdentityConfig:
        names = [token.name for token in self.tokens]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate token names: {', '.join(duplicates)}")
        return self


class ServerTls(Strict):
    """Client-facing TLS for a listener."""

    cert: str
    key: str
    required: bool = False
    min_version: str = "TLSv1.2"


class StaticCredentials(Strict):
    user: str
    password: str | None = Field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> StaticCredentials:
        given = [x for x in (self.password, self.password_env, self.password_file) if x]
        if len(given) > 1:
            raise ValueError("give at most one of password, password_env, password_file")
        return self


class CredentialsConfig(Strict):
    static: StaticCredentials | None = None

    @model_validator(mode="after")
    def _some_source(self) -> CredentialsConfig:
        if self.static is None:
            raise ValueError("credentials need a source: static")
        return self


class ResourceConfig(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    protocol: str
    listen: str
    tls: ServerTls | None = None
    upstream: dict[str, Any] = Field(default_factory=dict)
    databases: tuple[str, ...] | None = None
    credentials: CredentialsConfig
    reuse_port: bool = False  # SO_REUSEPORT: several processes share the port

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


class LimitsConfig(Strict):
    max_message_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    handshake_timeout: Annotated[float, Field(gt=0)] = 30.0
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    shutdown_grace: Annotated[float, Field(ge=0)] = 30.0


class LoggingConfig(Strict):
    level: str = "info"
    max_statement_chars: Annotated[int, Field(ge=0)] = 2000


class WardgateConfig(Strict):
    admin: AdminConfig = AdminConfig()
    state: StateConfig = StateConfig()
    identity: IdentityConfig = IdentityConfig()
    resources: tuple[ResourceConfig, ...] = ()
    limits: LimitsConfig = LimitsConfig()
    logging: LoggingConfig = LoggingConfig()

    @model_validator(mode="after")
    def _unique_resources(self) -> WardgateConfig:
        names = [resource.name for resource in self.resources]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate resource names: {', '.join(duplicates)}")
        return self
