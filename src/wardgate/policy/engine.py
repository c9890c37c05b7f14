"""The policy interface the gate consults, and the allow-all policy used until
rules are configured.

A policy sees identities, resources and protocol-neutral commands, never bytes.
"""

from __future__ import annotations

from typing import Protocol

from wardgate.seam import Action, Command, Decision, Identity


class Policy(Protocol):
    version: str

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision: ...


class AllowAllPolicy:
    """Allows every command under the rule name `default`; each decision is still logged."""

    def __init__(self, version: str = "") -> None:
        self.version = version

    def decide(self, identity: Identity, resource: str, command: Command) -> Decision:
        return Decision(action=Action.ALLOW, rule="default")
