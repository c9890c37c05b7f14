"""The masking plan of a statement without a gateway (`wardgate policy test`).

No upstream is contacted, so the catalog is unknown: columns are traced by name
(stars and views cannot be expanded, and a result the tracer cannot follow shows
the safe outcome the gateway would take for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wardgate.catalog.index import CatalogIndex
from wardgate.config.model import WardgateConfig
from wardgate.masking.planner import MaskingEngine, describe_plan
from wardgate.masking.rules import MaskingRules


def masking_plan(
    config: WardgateConfig, upstream: Mapping[str, Any], dialect: str, sql: str
) -> list[dict[str, object]]:
    if not config.masking or not dialect or not sql:
        return []
    engine = MaskingEngine(MaskingRules(config.masking), (config.masking_key or "").encode())
    schema = str(upstream.get("database", "")) if dialect == "mysql" else "public"
    return describe_plan(engine, sql, dialect, CatalogIndex(default_schema=schema))
