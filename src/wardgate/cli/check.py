"""`wardgate check -c FILE`: validate config and policy without starting anything."""

from __future__ import annotations

from pathlib import Path

import click

from wardgate.config import ConfigError, LoadedConfig, load_config

EXIT_BAD_CONFIG = 2

config_option = click.option(
    "-c", "--config", "config_path", required=True, type=click.Path(path_type=Path)
)


def load_config_or_exit(path: Path) -> LoadedConfig:
    """Load the config or print every issue (file:line: key: message) and exit 2."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None


@click.command()
@config_option
def check(config_path: Path) -> None:
    """Validate a configuration file; every error names file, line and key."""
    loaded = load_config_or_exit(config_path)
    resources = ", ".join(r.name for r in loaded.config.resources) or "none"
    click.echo(f"{config_path}: ok (resources: {resources}; policy version {loaded.version})")
