"""The `audit` section of wardgate.yaml (docs/audit.md, docs/configuration.md)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 10**6, "mib": 1024**2}
_SIZE_UNITS |= {"gb": 10**9, "gib": 1024**3, "tb": 10**12, "tib": 1024**4}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_size(value: object) -> int:
    """`1048576`, `64MiB`, `10GB` → bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"expected a size like 64MiB or 10GB, got {value!r}")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def parse_seconds(value: object) -> float:
    """`0.05`, `50ms`, `30s`, `7d` → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"expected a duration like 50ms, 30s or 7d, got {value!r}")
    return float(match.group(1)) * _SECONDS[match.group(2) or "s"]


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(ge=0)]
Seconds = Annotated[float, BeforeValidator(parse_seconds), Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditSinkConfig(_Strict):
    """One sink: ``store`` (the state store), ``file`` (JSONL/OCSF, rotated), ``syslog``."""

    type: Literal["store", "file", "syslog"]
    path: str | None = None
    format: Literal["jsonl", "ocsf"] = "jsonl"
    max_bytes: ByteSize = 100 * 1024 * 1024
    backups: Annotated[int, Field(ge=0)] = 5
    address: str | None = None
    transport: Literal["udp", "tcp"] = "udp"
    facility: Annotated[int, Field(ge=0, le=23)] = 13

    @model_validator(mode="after")
    def _fields_fit_type(self) -> AuditSinkConfig:
        if self.type == "file" and not self.path:
            raise ValueError("a file sink needs `path`")
        if self.type == "syslog" and not self.address:
            raise ValueError("a syslog sink needs `address: host:port`")
        if self.type != "file" and self.path:
            raise ValueError(f"`path` does not apply to a {self.type} sink")
        if self.type != "syslog" and self.address:
            raise ValueError(f"`address` does not apply to a {self.type} sink")
        return self


class AuditRetention(_Strict):
    """How long the journal keeps closed segments (docs/audit.md, "Retention")."""

    max_age: Seconds | None = None  # segments last written longer ago than this go
    max_bytes: ByteSize | None = None  # oldest segments go while the journal is larger
    check_interval: Annotated[float, BeforeValidator(parse_seconds), Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _some_limit(self) -> AuditRetention:
        if self.max_age is None and self.max_bytes is None:
            raise ValueError("give max_age, max_bytes or both (omit retention to keep all)")
        return self


class AuditConfig(_Strict):
    enabled: bool = True
    journal: str = "audit"  # directory, relative to the config file
    instance: str = ""  # this gateway's name in the records; default: the host name
    sinks: tuple[AuditSinkConfig, ...] = (AuditSinkConfig(type="store"),)
    hmac_key: str | None = Field(default=None, repr=False)
    fsync_interval: Seconds = 0.05  # 0 = fsync after every record
    on_failure: Literal["closed", "open"] = "closed"
    segment_bytes: Annotated[int, BeforeValidator(parse_size), Field(ge=4096)] = 64 * 1024**2
    retention: AuditRetention | None = None  # None: the journal keeps everything
    max_statement_chars: Annotated[int, Field(ge=0)] = 4000
    readers: tuple[str, ...] = ()  # groups that may read audit and recordings; () = any identity
