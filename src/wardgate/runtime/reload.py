"""Reloading the configuration on SIGHUP: the policy, the static tokens and the OIDC
issuers, atomically.

    SIGHUP ─▶ load_config(path) in a worker thread (same checks as `wardgate check`)
        ├─ any issue ─▶ log `reload_failed` (file:line: key: message each); nothing changes
        └─ valid ─────▶ build the new RulePolicy ─▶ swap the token list, the policy and
                        the issuers ─▶ log `policy_reloaded` (old and new versions,
                        the issuers that changed)
                        ─▶ log `reload_restart_required` for sections only a restart applies

The swaps are plain assignments on the event loop with no await between them, so
every later decision sees the new policy, tokens and issuers together, and no
decision ever sees half a policy. An unchanged issuer keeps its cached keys; a new
or changed one fetches its keys in the background; a dropped one is closed a few
seconds later. Open sessions keep their identity (authenticated at start-up) and get
the new policy at their next command.

Listeners, resources, TLS, admin, state, vault, audit, recording and the other
`identity` keys are built once at start-up: a change there is reported and needs a
restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from wardgate.config.loader import ConfigError, LoadedConfig, load_config
from wardgate.config.model import OidcIssuer, WardgateConfig
from wardgate.eventlog import EventLog
from wardgate.identity.authenticator import Authenticator
from wardgate.identity.tokens import StaticTokenVerifier
from wardgate.policy.commands import CommandClassifier
from wardgate.policy.engine import PolicySwitch, RulePolicy

#: Sections a reload applies; every other difference waits for a restart.
RELOADABLE = frozenset({"policy"})
#: Inside `identity`, the static token list and the OIDC issuers are reloaded.
RELOADABLE_IDENTITY = frozenset({"tokens", "oidc"})

Loader = Callable[[Path], LoadedConfig]


def restart_required(
    running: WardgateConfig,
    new: WardgateConfig,
    reloadable_identity: frozenset[str] = RELOADABLE_IDENTITY,
) -> list[str]:
    """Dotted names of changed sections that only a restart would apply."""
    old_tree, new_tree = running.model_dump(mode="json"), new.model_dump(mode="json")
    changed = []
    for section in sorted(set(old_tree) | set(new_tree)):
        if section in RELOADABLE:
            continue
        before, after = old_tree.get(section), new_tree.get(section)
        if section == "identity":
            changed += _changed_keys("identity", before or {}, after or {}, reloadable_identity)
        elif before != after:
            changed.append(section)
    return changed


def _changed_keys(
    prefix: str, before: dict[str, Any], after: dict[str, Any], skip: frozenset[str]
) -> list[str]:
    keys = sorted((set(before) | set(after)) - skip)
    return [f"{prefix}.{key}" for key in keys if before.get(key) != after.get(key)]


class IssuerReload(Protocol):
    """Where the OIDC issuers are replaced (`wardgate.identity.issuers.IdentityServices`)."""

    def replace_issuers(self, issuers: Iterable[OidcIssuer]) -> list[str]: ...


class ReloadAudit(Protocol):
    """Where reloads are audited (`wardgate.audit.evidence.Evidence`)."""

    def policy_reloaded(self, old_version: str, new_version: str, error: str = "") -> None: ...


class ConfigReloader:
    """Applies a re-read configuration file to a running gateway."""

    def __init__(
        self,
        running: LoadedConfig,
        policy: PolicySwitch,
        classifier: CommandClassifier,
        authenticator: Authenticator,
        log: EventLog,
        load: Loader = load_config,
        audit: ReloadAudit | None = None,
        issuers: IssuerReload | None = None,  # None: issuer changes need a restart
    ) -> None:
        self._running = running
        self._current = running
        self._policy = policy
        self._classifier = classifier
        self._authenticator = authenticator
        self._log = log
        self._load = load
        self._audit = audit
        self._issuers = issuers
        self._reloadable_identity = (
            RELOADABLE_IDENTITY if issuers is not None else RELOADABLE_IDENTITY - {"oidc"}
        )
        self._lock = asyncio.Lock()

    @property
    def current(self) -> LoadedConfig:
        """The configuration whose policy and tokens are in force."""
        return self._current

    async def reload(self) -> bool:
        """Re-read the file; True when the new policy is in force."""
        async with self._lock:  # two quick SIGHUPs apply in order, never interleaved
            path = self._running.path
            try:
                loaded = await asyncio.to_thread(self._load, path)
            except ConfigError as exc:
                self._failed(path, [str(issue) for issue in exc.issues])
                return False
            except Exception as exc:  # fail safe: whatever broke, the old policy stays
                self._failed(path, [f"{path}: {type(exc).__name__}: {exc}"])
                return False
            self._apply(loaded)
            return True

    def _failed(self, path: Path, errors: list[str]) -> None:
        self._log.emit(
            "reload_failed",
            level="error",
            file=str(path),
            errors=errors,
            policy_version=self._policy.version,
            message="the configuration was not reloaded; the policy in force is unchanged",
        )
        if self._audit is not None:
            self._audit.policy_reloaded(self._policy.version, "", "; ".join(errors))

    def _apply(self, loaded: LoadedConfig) -> None:
        config = loaded.config
        policy = RulePolicy(config.policy, loaded.version, self._classifier)
        tokens = StaticTokenVerifier(config.identity.tokens)
        old_version = self._policy.version
        self._authenticator.replace_static(tokens)  # no await between the swaps
        self._policy.swap(policy)
        issuers = self._issuers
        changed_issuers = [] if issuers is None else issuers.replace_issuers(config.identity.oidc)
        self._current = loaded
        self._log.emit(
            "policy_reloaded",
            file=str(loaded.path),
            old_version=old_version,
            new_version=loaded.version,
            changed=old_version != loaded.version,
            config_version=loaded.config_version,
            rules=len(config.policy.rules),
            tokens=len(config.identity.tokens),
            issuers=len(config.identity.oidc),
            issuers_changed=changed_issuers,
        )
        if self._audit is not None:
            self._audit.policy_reloaded(old_version, loaded.version)
        pending = restart_required(self._running.config, config, self._reloadable_identity)
        if pending:
            self._log.emit(
                "reload_restart_required",
                level="warning",
                sections=pending,
                message="these sections changed but only apply after a restart",
            )
