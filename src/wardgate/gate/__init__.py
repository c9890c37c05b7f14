"""The core's side of the seam: per-resource gates and the sessions they open."""

from wardgate.gate.resource_gate import ResourceGate
from wardgate.gate.session import GatewaySession

__all__ = ["GatewaySession", "ResourceGate"]
