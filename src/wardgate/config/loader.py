"""Load, interpolate and validate a configuration file into a `LoadedConfig`.

Every failure becomes a `ConfigIssue` naming file, line and key, so `wardgate
check` and `wardgate serve` report the same precise errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from wardgate.config.interpolation import ReferenceError_, Resolver, config_resolvers, interpolate
from wardgate.config.model import WardgateConfig
from wardgate.config.yamlsource import DuplicateKey, LineDict, line_of, load_yaml
from wardgate.plugins import PluginRegistry
from wardgate.policy.model import policy_version


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(Exception):
    def __init__(self, issues: list[ConfigIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    path: Path
    config: WardgateConfig
    upstreams: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""  # the policy version: hash of the normalized policy section
    config_version: str = ""  # hash of the whole file's tree (any change at all)


def _dotted(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _issues_from_validation(
    exc: ValidationError, tree: Any, file: str, prefix: tuple[int | str, ...] = ()
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors():
        location = (*prefix, *(p for p in error["loc"] if isinstance(p, int | str)))
        message = error["msg"].removeprefix("Value error, ")
        issues.append(ConfigIssue(file, line_of(tree, location), _dotted(location), message))
    return issues


def _validate_upstreams(
    config: WardgateConfig, tree: Any, file: str, plugins: PluginRegistry
) -> tuple[dict[str, Any], list[ConfigIssue]]:
    upstreams: dict[str, Any] = {}
    issues: list[ConfigIssue] = []
    for index, resource in enumerate(config.resources):
        plugin = plugins.get(resource.protocol)
        location: tuple[int | str, ...] = ("resources", index)
        if plugin is None:
            known = ", ".join(plugins.names()) or "none installed"
            failure = plugins.failure(resource.protocol)
            message = (
                f"protocol plugin {resource.protocol!r} failed to load: {failure}"
                if failure
                else f"unknown protocol {resource.protocol!r} (known: {known})"
            )
            issues.append(
                ConfigIssue(
                    file,
                    line_of(tree, (*location, "protocol")),
                    _dotted((*location, "protocol")),
                    message,
                )
            )
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(plugin.upstream_settings)
            upstreams[resource.name] = adapter.validate_python(
                resource.upstream, strict=False, extra="forbid"
            )
        except ValidationError as exc:
            issues += _issues_from_validation(exc, tree, file, (*location, "upstream"))
    return upstreams, issues


def _duplicates(
    names: list[str], section: tuple[int | str, ...], what: str, tree: Any, file: str
) -> list[ConfigIssue]:
    issues, seen = [], set()
    for index, name in enumerate(names):
        if name in seen:
            location = (*section, index, "name")
            message = f"duplicate {what} names: {name}"
            issues.append(ConfigIssue(file, line_of(tree, location), _dotted(location), message))
        seen.add(name)
    return issues


def _duplicate_names(config: WardgateConfig, tree: Any, file: str) -> list[ConfigIssue]:
    resources = [resource.name for resource in config.resources]
    tokens = [token.name for token in config.identity.tokens]
    return _duplicates(resources, ("resources",), "resource", tree, file) + _duplicates(
        tokens, ("identity", "tokens"), "token", tree, file
    )


def config_version(tree: Any) -> str:
    """A short stable hash of the whole configuration tree (before interpolation)."""
    canonical = json.dumps(tree, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_config(
    path: Path | str,
    plugins: PluginRegistry | None = None,
    resolvers: Mapping[str, Resolver] | None = None,
) -> LoadedConfig:
    """Read and validate a config file; raises ConfigError listing every problem."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(file, 0, "", f"cannot read: {exc.strerror}")]) from None
    try:
        tree = load_yaml(text)
    except DuplicateKey as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        raise ConfigError(
            [ConfigIssue(file, line, _dotted(exc.location), exc.problem or "duplicate key")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigIssue(file, line, "", f"invalid YAML: {problem}")]) from None
    if tree is None:
        tree = LineDict()
    if not isinstance(tree, dict):
        raise ConfigError([ConfigIssue(file, 1, "", "the top level must be a mapping")])
    whole = config_version(tree)
    try:
        tree = interpolate(tree, resolvers or config_resolvers(tree, path.parent))
    except ReferenceError_ as exc:
        location = exc.location
        raise ConfigError(
            [ConfigIssue(file, line_of(tree, location), _dotted(location), str(exc))]
        ) from None
    try:
        config = WardgateConfig.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(_issues_from_validation(exc, tree, file)) from None
    issues = _duplicate_names(config, tree, file)
    upstreams, upstream_issues = _validate_upstreams(
        config, tree, file, plugins or PluginRegistry()
    )
    issues += upstream_issues
    if issues:
        raise ConfigError(issues)
    return LoadedConfig(
        path=path,
        config=config,
        upstreams=upstreams,
        version=policy_version(config.policy),
        config_version=whole,
    )
