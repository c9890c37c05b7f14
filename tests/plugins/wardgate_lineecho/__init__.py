"""A test-only protocol plugin: a line protocol relayed to a TCP line service.

It exists to prove the seam: it is registered through the ``wardgate.protocols``
entry point like the real plugins (see the sibling ``.dist-info``), and the core
learns nothing about it. Wire format: the client's first line is ``AUTH <token>``;
each later line is a command, decided by the gate and, if allowed, sent upstream
whose reply line comes back; refusals come back as ``ERR <rule>``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from wardgate.seam import (
    ClientInfo,
    Command,
    Direction,
    GateError,
    ListenerContext,
    Outcome,
    PresentedCredential,
)


@dataclass(frozen=True, slots=True)
class LineUpstream:
    host: str = "127.0.0.1"
    port: int = 7


class LineListener:
    def __init__(self, context: ListenerContext) -> None:
        self._context = context

    async def handle(self, reader: Any, writer: Any) -> None:
        gate = self._context.gate
        peer = writer.get_extra_info("peername")
        client = ClientInfo(address=peer[0], port=peer[1])
        first = (await reader.readline()).decode().strip()
        if not first.startswith("AUTH "):
            writer.write(b"ERR expected AUTH\n")
            return
        try:
            identity = await gate.authenticate(PresentedCredential(secret=first[5:]), client)
            session = await gate.open_session(identity, client, "")
        except GateError as exc:
            writer.write(f"ERR {exc.message}\n".encode())
            return
        settings: LineUpstream = self._context.upstream
        up_reader, up_writer = await asyncio.open_connection(settings.host, settings.port)
        writer.write(f"OK {identity.name}\n".encode())
        try:
            while line := await reader.readline():
                decision = await session.decide(Command("line", line.decode().strip()))
                if not decision.allowed:
                    writer.write(f"ERR {decision.rule}\n".encode())
                    continue
                up_writer.write(line)
                reply = await up_reader.readline()
                session.record(Direction.SERVER_TO_CLIENT, reply)
                writer.write(reply)
                await session.report(Outcome(decision.command_id, rows=1))
        finally:
            up_writer.close()
            await session.close("client closed")

    async def drain(self) -> None:
        return None


class LineEchoPlugin:
    name = "lineecho"
    dialect = ""
    default_port = 7
    upstream_settings = LineUpstream

    def create_listener(self, context: ListenerContext) -> LineListener:
        return LineListener(context)


plugin = LineEchoPlugin()
