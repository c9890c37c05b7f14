"""`wardgate` — the command group. Each command lives in its own module.

Commands are imported when they run, not when the group is built, so `wardgate
reviews list` does not pay for importing the gateway, sqlglot and the audit stack.
"""

from __future__ import annotations

import importlib

import click

from wardgate import __version__

# command name -> (module, attribute)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("wardgate.cli.serve", "serve"),
    "check": ("wardgate.cli.check", "check"),
    "token": ("wardgate.cli.token", "token"),
    "login": ("wardgate.cli.login", "login"),
    "env": ("wardgate.cli.agent_env", "env_command"),
    "connect": ("wardgate.cli.agent_env", "connect_command"),
    "classify": ("wardgate.cli.policy", "classify"),
    "policy": ("wardgate.cli.policy", "policy"),
    "reviews": ("wardgate.cli.reviews", "reviews"),
    "audit": ("wardgate.cli.audit", "audit"),
    "sessions": ("wardgate.cli.sessions", "sessions"),
    "replay": ("wardgate.cli.sessions", "replay"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        command = getattr(importlib.import_module(target[0]), target[1])
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wardgate")
def cli() -> None:
    """Identity-aware gateway between AI agents and the systems they reach."""


def main() -> None:
    cli()
