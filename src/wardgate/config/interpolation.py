"""`${env:NAME}`, `${file:PATH}` and `${vault:PATH#KEY}` references in config strings.

References are resolved once, when the configuration is loaded, by a resolver per
scheme. A missing variable, unreadable file or unavailable secret is a config error
(fail closed), never an empty string.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wardgate.config.yamlsource import LineDict, LineList

REFERENCE = re.compile(r"\$\{(?P<scheme>[a-z]+):(?P<target>[^}]*)\}")

Resolver = Callable[[str], str]


class ReferenceError_(ValueError):
    """A `${…}` reference that cannot be resolved; carries the config location."""

    def __init__(self, message: str, location: tuple[int | str, ...]) -> None:
        super().__init__(message)
        self.location = location


def resolve_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if name not in env:
        raise ValueError(f"environment variable {name!r} is not set")
    return env[name]


def resolve_file(path: str, base: Path | None = None) -> str:
    target = Path(path)
    if base is not None and not target.is_absolute():
        target = base / target
    try:
        return target.read_text(encoding="utf-8").rstrip("\n")
    except OSError as exc:
        raise ValueError(f"cannot read {target}: {exc.strerror}") from None


def _unavailable_vault(reference: str) -> str:
    raise ValueError(f"vault reference {reference!r} needs the `vault` section configured")


def default_resolvers(base: Path | None = None) -> dict[str, Resolver]:
    return {
        "env": resolve_env,
        "file": lambda path: resolve_file(path, base),
        "vault": _unavailable_vault,
    }


def config_resolvers(tree: Any, base: Path | None = None) -> dict[str, Resolver]:
    """The defaults, with `vault` answered from the file's own `vault` section (lazily)."""
    from wardgate.vault.kv import lazy_resolver

    resolvers = default_resolvers(base)
    section = tree.get("vault") if isinstance(tree, dict) else None
    pre = {scheme: resolvers[scheme] for scheme in ("env", "file")}
    resolvers["vault"] = lazy_resolver(section, base or Path.cwd(), pre)
    return resolvers


def interpolate_string(text: str, resolvers: Mapping[str, Resolver]) -> str:
    def substitute(match: re.Match[str]) -> str:
        scheme = match.group("scheme")
        if scheme not in resolvers:
            raise ValueError(f"unknown reference scheme {scheme!r} in {match.group(0)!r}")
        return resolvers[scheme](match.group("target"))

    return REFERENCE.sub(substitute, text)


def deferred(location: tuple[int | str, ...]) -> bool:
    """Kept unresolved after loading: `resources[i].credentials.header.value`."""
    return (
        len(location) == 5
        and location[0] == "resources"
        and location[2:] == ("credentials", "header", "value")
    )


def interpolate(
    tree: Any, resolvers: Mapping[str, Resolver], location: tuple[int | str, ...] = ()
) -> Any:
    """Resolve references in every string of a loaded tree, keeping line tables.

    A `deferred` string is resolved only to check it and kept as written: its user
    resolves it again at each use (a rotating credential).
    """
    if isinstance(tree, str):
        try:
            resolved = interpolate_string(tree, resolvers)
        except ValueError as exc:
            raise ReferenceError_(str(exc), location) from None
        return tree if deferred(location) else resolved
    if isinstance(tree, LineDict):
        for key in list(tree):
            tree[key] = interpolate(tree[key], resolvers, (*location, key))
        return tree
    if isinstance(tree, LineList):
        for index, item in enumerate(tree):
            tree[index] = interpolate(item, resolvers, (*location, index))
        return tree
    return tree
