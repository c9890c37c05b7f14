"""Configuration: YAML with line tracking, `${…}` references, pydantic models."""

from wardgate.config.loader import ConfigError, ConfigIssue, LoadedConfig, load_config
from wardgate.config.model import WardgateConfig, parse_listen

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "LoadedConfig",
    "WardgateConfig",
    "load_config",
    "parse_listen",
]
