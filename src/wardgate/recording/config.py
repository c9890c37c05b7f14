"""The `recording` section of wardgate.yaml (docs/recording.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from wardgate.audit.config import ByteSize, Seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionConfig(_Strict):
    max_age: Seconds | None = 30 * 86400.0
    max_bytes: ByteSize | None = None


class RecordingConfig(_Strict):
    enabled: bool = True
    dir: str = "recordings"  # relative to the config file
    compression_level: Annotated[int, Field(ge=1, le=9)] = 6
    retention: RetentionConfig = RetentionConfig()
