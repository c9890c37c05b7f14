"""The `masking` section of wardgate.yaml (DESIGN.md, "Configuration", "Masking").

Each rule names the values it protects — source columns by glob (`table.column`,
`schema.table.column`, `*.password`), document fields by glob over their dotted
path (`fields`: JSON bodies of HTTP resources) and/or value detectors — and the
strategy that rewrites them. Unknown detector names and strategies are configuration errors, so a
typo never leaves a column in the clear.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

BUILTIN_DETECTORS = ("credit_card", "email", "aws_access_key", "private_key", "jwt")
Strategy = Literal["redact", "partial", "hash", "null"]

#: Most protective first: a value fed by several rules gets the strictest one.
STRICTNESS: dict[str, int] = {"null": 3, "redact": 2, "hash": 1, "partial": 0}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomDetector(_Strict):
    """`{name, regex, prefix}`: values matching `regex` anywhere are masked.

    `prefix` (optional) matches, at the end of a text, any beginning of a match
    (e.g. `v(?:k(?:_[A-Za-z0-9]*)?)?\\Z`); streamed text is held from there.
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    regex: Annotated[str, Field(min_length=1)]
    prefix: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        if pattern.match(""):
            raise ValueError("the regex matches the empty string")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix_anchored(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid prefix regex: {exc}") from None
        if not value.endswith(("\\Z", "$")):
            raise ValueError("the prefix regex must be anchored at the end of the text (\\Z)")
        return value


def _detector(value: object) -> object:
    if isinstance(value, str) and value not in BUILTIN_DETECTORS:
        raise ValueError(f"unknown detector {value!r} (one of {', '.join(BUILTIN_DETECTORS)})")
    return value


Detector = Annotated[str | CustomDetector, BeforeValidator(_detector)]


class MaskingRule(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    columns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()  # globs over dotted document paths (`*.password`, `user.email`)
    detectors: tuple[Detector, ...] = ()
    strategy: Strategy = "redact"
    keep: Annotated[int, Field(ge=0, le=64)] = 4  # partial: characters kept at the end
    # What to do with a result that reads a masked table when lineage is unknown.
    on_unknown: Literal["mask", "deny"] = "mask"

    @field_validator("columns")
    @classmethod
    def _column_globs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            parts = value.split(".")
            if not 1 <= len(parts) <= 3 or not all(parts):
                raise ValueError(f"{value!r}: expected column, table.column or schema.table.column")
        return tuple(value.lower() for value in values)

    @field_validator("fields")
    @classmethod
    def _field_globs(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not value or not all(value.split(".")):
                raise ValueError(f"{value!r}: expected a dotted field path such as user.email")
        return tuple(value.lower() for value in values)

    @model_validator(mode="after")
    def _protects_something(self) -> MaskingRule:
        if not self.columns and not self.fields and not self.detectors:
            raise ValueError(f"masking rule {self.name!r} needs columns, fields or detectors")
        return self


def check_rules(rules: tuple[MaskingRule, ...], key: str | None) -> None:
    """Rule names are unique; `hash` needs `masking_key` (stable across restarts)."""
    names = [rule.name for rule in rules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate masking rule names: {', '.join(duplicates)}")
    hashing = [rule.name for rule in rules if rule.strategy == "hash"]
    if hashing and not key:
        raise ValueError(
            f"masking rules {', '.join(hashing)} use strategy hash: set masking_key "
            "(e.g. masking_key: ${env:WARDGATE_MASKING_KEY}), at least 16 characters"
        )
    if key is not None and len(key) < 16:
        raise ValueError("masking_key must be at least 16 characters")
