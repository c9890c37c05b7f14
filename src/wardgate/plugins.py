"""Protocol plugin discovery through the ``wardgate.protocols`` entry-point group.

The core never imports a plugin by name: a new protocol is a package that
registers an entry point, and nothing here changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points

from wardgate.seam import ProtocolPlugin

ENTRY_POINT_GROUP = "wardgate.protocols"


class PluginError(Exception):
    pass


def discover_plugins() -> dict[str, ProtocolPlugin]:
    """Load every installed protocol plugin, keyed by its entry-point name."""
    plugins: dict[str, ProtocolPlugin] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = entry.load()
        except Exception as exc:  # a broken plugin must not hide the others
            raise PluginError(f"protocol plugin {entry.name!r} failed to load: {exc}") from exc
        if getattr(plugin, "name", None) != entry.name:
            raise PluginError(
                f"entry point {entry.name!r} resolves to a plugin named "
                f"{getattr(plugin, 'name', None)!r}"
            )
        plugins[entry.name] = plugin
    return plugins


class PluginRegistry:
    """The plugins a gateway runs with; injectable so tests can add their own."""

    def __init__(self, plugins: Mapping[str, ProtocolPlugin] | None = None) -> None:
        self._plugins = dict(discover_plugins() if plugins is None else plugins)

    def get(self, name: str) -> ProtocolPlugin | None:
        return self._plugins.get(name)

    def names(self) -> list[str]:
        return sorted(self._plugins)
