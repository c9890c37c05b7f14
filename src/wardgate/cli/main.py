"""`wardgate` — the command group. Each command lives in its own module."""

from __future__ import annotations

import click

from wardgate import __version__
from wardgate.cli.agent_env import connect_command, env_command
from wardgate.cli.audit import audit
from wardgate.cli.check import check
from wardgate.cli.login import login
from wardgate.cli.policy import classify, policy
from wardgate.cli.reviews import reviews
from wardgate.cli.serve import serve
from wardgate.cli.sessions import replay, sessions
from wardgate.cli.token import token


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wardgate")
def cli() -> None:
    """Identity-aware gateway between AI agents and the systems they reach."""


cli.add_command(serve)
cli.add_command(check)
cli.add_command(token)
cli.add_command(login)
cli.add_command(env_command)
cli.add_command(connect_command)
cli.add_command(classify)
cli.add_command(policy)
cli.add_command(reviews)
cli.add_command(audit)
cli.add_command(sessions)
cli.add_command(replay)


def main() -> None:
    cli()
