"""An RFC 5424 syslog sink over UDP (one datagram per record) or TCP.

TCP uses octet-counting framing (RFC 6587 §3.4.1: ``LEN SP MSG``). Each message is
``<PRI>1 TIMESTAMP HOST wardgate PID TYPE [wardgate@32473 seq="…" hash="…"] JSON``
with facility 13 (log audit) by default; denials and failures are severity 4
(warning), everything else 6 (informational).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Sequence

from wardgate.audit.reader import Entry
from wardgate.audit.sinks import render

FACILITY_LOG_AUDIT = 13
_WARNING, _INFO = 4, 6
MAX_UDP_PAYLOAD = 65000


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def format_message(entry: Entry, fmt: str, hostname: str, facility: int) -> bytes:
    record = entry.record
    failing = record.get("decision") == "deny" or record.get("type") == "auth_failure"
    severity = _WARNING if failing or record.get("error") else _INFO
    msgid = str(record.get("type", "-"))[:32] or "-"
    data = (
        f'[wardgate@32473 seq="{entry.seq}" hash="{_sd_escape(str(record.get("hash", "")))}"'
        f' instance="{_sd_escape(str(record.get("instance", "")))}"]'
    )
    head = f"<{facility * 8 + severity}>1 {record.get('ts', '-')} {hostname} wardgate"
    head += f" {os.getpid()} {msgid} {data} "
    return head.encode() + render(entry, fmt).rstrip(b"\n")


class SyslogSink:
    def __init__(
        self,
        host: str,
        port: int,
        transport: str = "udp",
        fmt: str = "jsonl",
        facility: int = FACILITY_LOG_AUDIT,
        hostname: str | None = None,
    ) -> None:
        self.name = f"syslog:{transport}:{host}:{port}"
        self._address = (host, port)
        self._transport = transport
        self._format = fmt
        self._facility = facility
        self._hostname = hostname or socket.gethostname() or "-"
        self._writer: asyncio.StreamWriter | None = None
        self._udp: socket.socket | None = None

    async def open(self) -> None:
        if self._transport == "udp":
            family = socket.AF_INET6 if ":" in self._address[0] else socket.AF_INET
            self._udp = socket.socket(family, socket.SOCK_DGRAM)
            self._udp.setblocking(False)
            return
        _, self._writer = await asyncio.open_connection(*self._address)

    async def write(self, entries: Sequence[Entry]) -> None:
        messages = [
            format_message(e, self._format, self._hostname, self._facility)
            for e in entries
            if e.seq > 0
        ]
        if self._transport == "udp":
            await self._send_udp(messages)
        else:
            await self._send_tcp(messages)

    async def _send_udp(self, messages: list[bytes]) -> None:
        if self._udp is None:
            await self.open()
        assert self._udp is not None
        loop = asyncio.get_running_loop()
        for message in messages:
            await loop.sock_sendto(self._udp, message[:MAX_UDP_PAYLOAD], self._address)

    async def _send_tcp(self, messages: list[bytes]) -> None:
        if self._writer is None or self._writer.is_closing():
            await self.open()
        assert self._writer is not None
        try:
            self._writer.write(b"".join(b"%d %s" % (len(m), m) for m in messages))
            await self._writer.drain()
        except (ConnectionError, OSError):
            await self.close()
            raise

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        udp, self._udp = self._udp, None
        if udp is not None:
            udp.close()
