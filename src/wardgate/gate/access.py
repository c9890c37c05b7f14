"""Who may open a resource at all — decided before any upstream connection or lease.

`resources[].access` lists identity names and groups; an identity matching
either is admitted. A resource without `access` admits every authenticated
identity (its commands still face the policy). Which upstream role an admitted
identity gets is the credential provider's choice (`credentials.vault.roles_by_group`).
"""

from __future__ import annotations

from dataclasses import dataclass

from wardgate.config.model import AccessConfig
from wardgate.seam import Identity


@dataclass(frozen=True, slots=True)
class AccessRule:
    groups: frozenset[str]
    identities: frozenset[str]

    @classmethod
    def from_config(cls, config: AccessConfig) -> AccessRule:
        return cls(frozenset(config.groups), frozenset(config.identities))

    def admits(self, identity: Identity) -> bool:
        return identity.name in self.identities or not self.groups.isdisjoint(identity.groups)
