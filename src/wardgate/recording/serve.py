"""`wardgate replay ID --serve ADDR`: serve a recording to real clients.

Serving is protocol-specific (start-up, where a request ends), so the recording's
protocol plugin does it through its optional `serve_recording` hook
(`wardgate.seam.RecordingReplayer`); the core only loads the recording, binds the
address and hands each accepted connection to the plugin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wardgate.plugins import PluginRegistry
from wardgate.recording.reader import Recording
from wardgate.seam import RecordingReplayer


class ReplayUnsupported(Exception):
    pass


def replayer_for(recording: Recording, plugins: PluginRegistry) -> RecordingReplayer:
    protocol = str(recording.header.get("protocol", ""))
    plugin = plugins.get(protocol)
    if plugin is None or not hasattr(plugin, "serve_recording"):
        raise ReplayUnsupported(f"protocol {protocol!r} cannot serve recordings")
    replayer: RecordingReplayer = plugin  # type: ignore[assignment]
    return replayer


async def serve(
    recording: Recording,
    replayer: RecordingReplayer,
    host: str,
    port: int,
    on_listening: Callable[[str], None] = lambda address: None,
    connections: int | None = None,
) -> None:
    """Serve until cancelled, or after `connections` clients when given."""
    done = asyncio.Event()
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await replayer.serve_recording(recording.frames, reader, writer)
        served += 1
        if connections is not None and served >= connections:
            done.set()

    server = await asyncio.start_server(handle, host, port)
    bound = server.sockets[0].getsockname()
    on_listening(f"{bound[0]}:{bound[1]}")
    async with server:
        await done.wait()
