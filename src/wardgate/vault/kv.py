"""`${vault:PATH#KEY}` references: KV v1 and v2 secrets read while the config loads.

`PATH` may be the API path (`secret/data/llm` for KV v2) or the logical path the
`vault kv` CLI takes (`secret/llm`): the mount is looked up through
`sys/internal/ui/mounts/PATH` and `data/` is inserted for a v2 mount. If that
lookup is not permitted the path is read as given. A missing path or key is a
configuration error naming the reference, never an empty string.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wardgate.config.model import VaultConfig
from wardgate.vault.client import SyncVault
from wardgate.vault.errors import VaultError


def split_reference(reference: str) -> tuple[str, str]:
    path, sep, key = reference.partition("#")
    path = path.strip("/")
    if not sep or not path or not key:
        raise ValueError(f"vault reference {reference!r} must look like PATH#KEY")
    return path, key


def api_path(vault: SyncVault, path: str) -> str:
    """The path to GET: `data/` inserted for KV v2 mounts unless already there."""
    mount_info = vault.get(f"sys/internal/ui/mounts/{path}")
    data = (mount_info or {}).get("data") or {}
    mount = str(data.get("path") or "").strip("/")
    version = str((data.get("options") or {}).get("version") or "1")
    if not mount or version != "2" or not path.startswith(mount + "/"):
        return path
    rest = path[len(mount) + 1 :]
    return path if rest.startswith("data/") else f"{mount}/data/{rest}"


def secret_value(data: Mapping[str, Any], key: str) -> str:
    inner = data.get("data")
    values = inner if isinstance(inner, Mapping) and "metadata" in data else data
    if key not in values:
        raise ValueError(f"key {key!r} is not in the secret")
    value = values[key]
    return value if isinstance(value, str) else str(value)


class KvResolver:
    """A `${vault:…}` resolver; caches each path so one secret is read once per load."""

    def __init__(self, vault: SyncVault) -> None:
        self._vault = vault
        self._cache: dict[str, Mapping[str, Any]] = {}

    def __call__(self, reference: str) -> str:
        path, key = split_reference(reference)
        if path not in self._cache:
            try:
                self._cache[path] = self._vault.read(api_path(self._vault, path)).data
            except VaultError as exc:
                raise ValueError(f"vault reference {reference!r}: {exc.message}") from None
        try:
            return secret_value(self._cache[path], key)
        except ValueError as exc:
            raise ValueError(f"vault reference {reference!r}: {exc}") from None


def lazy_resolver(
    section: Any, base_dir: Path, pre: Mapping[str, Callable[[str], str]]
) -> Callable[[str], str]:
    """A resolver that builds the Vault client from the raw `vault` section on first use.

    The section is interpolated with `pre` (env/file resolvers) on a copy, so the
    Vault address and login secrets may themselves be `${env:…}` / `${file:…}`.
    """
    from wardgate.config.interpolation import interpolate

    state: dict[str, KvResolver] = {}

    def resolve(reference: str) -> str:
        if "kv" not in state:
            if section is None:
                raise ValueError(f"vault reference {reference!r} needs the `vault` section")
            raw = interpolate(copy.deepcopy(section), pre)
            try:
                config = VaultConfig.model_validate(raw)
            except Exception as exc:
                raise ValueError(f"vault section is invalid: {exc}") from None
            state["kv"] = KvResolver(SyncVault(config, base_dir))
        return state["kv"](reference)

    return resolve
