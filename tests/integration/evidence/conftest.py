"""A gateway with audit sinks and session recording, in front of the machine's PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from support.gateway import Gateway, pg_resource


def evidence_config(**audit: Any) -> dict[str, Any]:
    sinks = [
        {"type": "store"},
        {"type": "file", "path": "audit.jsonl"},
        {"type": "file", "path": "audit.ocsf.jsonl", "format": "ocsf"},
    ]
    return {
        "audit": {"sinks": sinks, "fsync_interval": "20ms", **audit},
        "recording": {"dir": "recordings"},
    }


@pytest.fixture
def evidence_gateway(gateway_factory: Any, machine_pg: Any) -> Gateway:
    """Resource `pg` on the machine server; audit to store + JSONL + OCSF; recordings on."""
    resource = pg_resource(
        "pg", host=machine_pg.host, port=machine_pg.port, user=machine_pg.user, password=""
    )
    gateway: Gateway = gateway_factory([resource], extra_config=evidence_config())
    return gateway
