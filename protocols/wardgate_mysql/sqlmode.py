"""What the upstream session's lexer looks like before the client's first command.

Two server settings change where MySQL strings and identifiers end, and so where
statements end: ``NO_BACKSLASH_ESCAPES`` (reported in every OK/EOF status flag
word, tracked by the relay) and ``ANSI_QUOTES`` (``"…"`` quotes an identifier, in
which a backslash is an ordinary character). The second is visible only in
``@@sql_mode``, which a server may set globally, so the gateway asks once, on the
fresh upstream connection, before the client can send anything:

    SELECT @@SESSION.sql_mode   →  one text row  →  ANSI_QUOTES (or ANSI) listed?

A failed or odd answer is "either": the classifier then lexes every statement both
ways and the stricter reading decides. The probe reads nothing from tables and
leaves no session state a client could observe except the server's query counters.
"""

from __future__ import annotations

from wardgate_mysql.codec.constants import Com
from wardgate_mysql.codec.response_state import Part, Phase, ResponseTracker
from wardgate_mysql.codec.resultset import decode_text_row
from wardgate_mysql.stream import PacketStream

PROBE = b"SELECT @@SESSION.sql_mode"
EITHER = "either"


async def read_sql_mode(upstream: PacketStream, caps: int) -> str | None:
    """The session's sql_mode, or None when the server did not answer one row."""
    upstream.seq = 0
    await upstream.send(bytes((Com.QUERY,)) + PROBE)
    tracker = ResponseTracker(Phase.FIRST, caps)
    value: bytes | None = None
    failed = False
    while not tracker.done:
        payload = (await upstream.read()).payload
        part = tracker.feed(payload)
        if part is Part.ROW:
            value = decode_text_row(payload, 1)[0]
        failed = failed or part is Part.ERR
    return None if failed or value is None else value.decode("utf-8", "replace")


def ansi_quotes_of(mode: str | None) -> str:
    """``on``/``off`` for the ANSI_QUOTES lexing a sql_mode implies, ``either`` if unknown."""
    if mode is None:
        return EITHER
    modes = {part.strip().upper() for part in mode.split(",")}
    return "on" if modes & {"ANSI_QUOTES", "ANSI"} else "off"


async def ansi_quotes(upstream: PacketStream, caps: int) -> str:
    """Ask the upstream session; protocol errors propagate (the session cannot go on)."""
    return ansi_quotes_of(await read_sql_mode(upstream, caps))
