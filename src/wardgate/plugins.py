"""Protocol plugin discovery through the ``wardgate.protocols`` entry-point group.

The core never imports a plugin by name: a new protocol is a package that
registers an entry point, and nothing here changes. A plugin that fails to load
is reported only where a resource uses it, so one broken package never takes
down the resources of the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points

from wardgate.seam import ProtocolPlugin

ENTRY_POINT_GROUP = "wardgate.protocols"


class PluginError(Exception):
    pass


def _load_all() -> tuple[dict[str, ProtocolPlugin], dict[str, str]]:
    plugins: dict[str, ProtocolPlugin] = {}
    failures: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = entry.load()
        except Exception as exc:  # contained: reported where the protocol is used
            failures[entry.name] = f"{type(exc).__name__}: {exc}"
            continue
        if getattr(plugin, "name", None) != entry.name:
            failures[entry.name] = (
                f"entry point {entry.name!r} resolves to a plugin named "
                f"{getattr(plugin, 'name', None)!r}"
            )
            continue
        plugins[entry.name] = plugin
    return plugins, failures


def discover_plugins() -> dict[str, ProtocolPlugin]:
    """Every installed protocol plugin that loads, keyed by its entry-point name."""
    return _load_all()[0]


class PluginRegistry:
    """The plugins a gateway runs with; injectable so tests can add their own."""

    def __init__(self, plugins: Mapping[str, ProtocolPlugin] | None = None) -> None:
        if plugins is None:
            loaded, self.failures = _load_all()
        else:
            loaded, self.failures = dict(plugins), {}
        self._plugins = dict(loaded)

    def get(self, name: str) -> ProtocolPlugin | None:
        return self._plugins.get(name)

    def failure(self, name: str) -> str | None:
        """Why the plugin registered as `name` did not load, if it did not."""
        return self.failures.get(name)

    def names(self) -> list[str]:
        return sorted(self._plugins)
