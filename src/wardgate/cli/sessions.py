"""`wardgate sessions list | show` and `wardgate replay ID [--speed X] [--serve ADDR]`.

`sessions` reads the recording directory of ``-c FILE`` or asks a running gateway
(``--server URL``). `replay` needs the recording file itself: ``-c FILE`` and a
session id (a unique prefix is enough), or a path to a ``.wgrec.gz`` file.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from wardgate.audit.setup import resolve
from wardgate.cli.audit import AdminClient, config_option, require_source, server_option
from wardgate.cli.check import load_config_or_exit
from wardgate.config import parse_listen
from wardgate.plugins import PluginRegistry
from wardgate.recording.api import session_detail
from wardgate.recording.catalog import RecordingNotFound, find_recording, list_sessions
from wardgate.recording.format import FormatError
from wardgate.recording.reader import Recording, read_recording
from wardgate.recording.serve import ReplayUnsupported, replayer_for, serve
from wardgate.recording.transcript import header_lines, play

COLUMNS = ("id", "started", "identity", "resource", "protocol", "client", "size")


def recordings_dir(config_path: Path) -> Path:
    loaded = load_config_or_exit(config_path)
    recording = loaded.config.recording
    if recording is None or not recording.enabled:
        raise click.ClickException(f"{config_path}: sessions are not recorded (no `recording`)")
    return resolve(loaded.path.parent, recording.dir)


def _table(rows: list[dict[str, Any]]) -> str:
    cells = [[str(row.get(c, "")) for c in COLUMNS] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


@click.group()
def sessions() -> None:
    """List and inspect recorded sessions."""


@sessions.command("list")
@config_option
@server_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(config_path: Path | None, server: str | None, as_json: bool) -> None:
    """List recorded sessions, newest first."""
    require_source(config_path, server)
    if config_path is not None:
        rows = [info.as_dict() for info in list_sessions(recordings_dir(config_path))]
    else:
        assert server is not None
        rows = AdminClient(server).get("/api/sessions")["sessions"]
    click.echo(json.dumps(rows, indent=2) if as_json else _table(rows))


@sessions.command("show")
@click.argument("session_id")
@config_option
@server_option
def show_command(session_id: str, config_path: Path | None, server: str | None) -> None:
    """Print one session's header, footer and whether its closing digest checks out."""
    require_source(config_path, server)
    if config_path is not None:
        detail = session_detail(_find(config_path, session_id), frames=False)
    else:
        assert server is not None
        detail = AdminClient(server).get(f"/api/sessions/{session_id}")
    click.echo(json.dumps(detail, indent=2, sort_keys=True))


def _find(config_path: Path | None, session_id: str) -> Path:
    directory = recordings_dir(config_path) if config_path is not None else Path(".")
    try:
        return find_recording(directory, session_id, allow_path=True)
    except RecordingNotFound as exc:
        raise click.ClickException(str(exc)) from None


def _load(config_path: Path | None, session_id: str) -> Recording:
    path = _find(config_path, session_id)
    try:
        return read_recording(path)
    except (FormatError, OSError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None


@click.command()
@click.argument("session_id", metavar="ID")
@config_option
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Playback speed: 1 real time, 10 ten times faster, 0 no delay.",
)
@click.option("--serve", "address", metavar="HOST:PORT", help="Serve the recording to clients.")
@click.option("--once", is_flag=True, help="With --serve: stop after one client.")
def replay(
    session_id: str, config_path: Path | None, speed: float, address: str | None, once: bool
) -> None:
    """Play a recorded session back as a transcript, or serve it to a real client."""
    recording = _load(config_path, session_id)
    problem = recording.verify()
    if address:
        _serve(recording, address, once)
        return
    for line in header_lines(recording.header):
        click.echo(line)
    for lines in play(recording.frames, speed):
        click.echo("\n".join(lines))
    click.echo(f"# {problem}" if problem else f"# closing digest ok: {recording.digest}")


def _serve(recording: Recording, address: str, once: bool) -> None:
    try:
        replayer = replayer_for(recording, PluginRegistry())
        host, port = parse_listen(address)
    except (ReplayUnsupported, ValueError) as exc:
        raise click.ClickException(str(exc)) from None

    def listening(bound: str) -> None:
        click.echo(f"serving session {recording.session_id} on {bound}", err=True)

    try:
        asyncio.run(serve(recording, replayer, host, port, listening, 1 if once else None))
    except KeyboardInterrupt:
        return
