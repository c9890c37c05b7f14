"""Building the masking engine and each resource's catalog cache from the config."""

from __future__ import annotations

from typing import Any, cast

from wardgate.catalog.cache import CatalogCache
from wardgate.config.model import WardgateConfig
from wardgate.eventlog import EventLog
from wardgate.gate.session import SessionServices
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.rules import MaskingRules
from wardgate.masking.services import MaskingServices
from wardgate.seam import CatalogReader


def masking_engine(config: WardgateConfig) -> MaskingEngine | None:
    """One engine for the gateway; None when the `masking` section is empty."""
    if not config.masking:
        return None
    key = (config.masking_key or "").encode()
    return MaskingEngine(MaskingRules(config.masking), key)


def default_schema(dialect: str) -> Any:
    """PostgreSQL resolves unqualified names in `public`; MySQL in the current database."""
    if dialect == "mysql":
        return lambda database: database
    return lambda database: "public"


def masking_services(
    engine: MaskingEngine,
    services: SessionServices,
    listener: object,
    dialect: str,
    log: EventLog,
) -> MaskingServices:
    reader = cast(CatalogReader, listener) if hasattr(listener, "read_catalog") else None
    catalog = CatalogCache(reader, services.resource, default_schema(dialect), log)
    counter = services.metrics.masked_values

    def count(rule: str, amount: int) -> None:
        counter.labels(*services.labels, rule).inc(amount)

    return MaskingServices(engine, catalog, count)
