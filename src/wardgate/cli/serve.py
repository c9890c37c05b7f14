"""`wardgate serve -c FILE`: run every listener and the admin server."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from wardgate.cli.check import config_option, load_config_or_exit
from wardgate.config import LoadedConfig
from wardgate.runtime.gateway import GatewayRuntime


async def run_gateway(loaded: LoadedConfig, ready_file: Path | None) -> None:
    runtime = GatewayRuntime(loaded)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    reloads: set[asyncio.Task[bool]] = set()

    def on_sighup() -> None:  # reload policy and tokens; the task set keeps it alive
        task = loop.create_task(runtime.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    try:
        await runtime.start(ready_file)
    except OSError as exc:
        runtime.log.emit("start_failed", level="error", error=str(exc))
        await runtime.shutdown(grace=0)
        raise SystemExit(2) from None
    await stop.wait()
    await runtime.shutdown()


def _runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


@click.command()
@config_option
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path),
    help="Write JSON with the bound admin and listener addresses once serving.",
)
def serve(config_path: Path, ready_file: Path | None) -> None:
    """Run every listener and the admin server; exit 2 on bad config."""
    loaded = load_config_or_exit(config_path)
    _runner()(run_gateway(loaded, ready_file))
