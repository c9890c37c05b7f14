"""Reading the upstream catalog for masking and lineage (`CatalogReader`).

A short-lived upstream login with the session's credential reads
information_schema — columns of tables and views, view definitions and routines
— for the database asked for, as text rows over COM_QUERY. The response is walked
with the same pure `ResponseTracker` the relay uses.
"""

from __future__ import annotations

import time

from wardgate.seam import (
    CatalogColumn,
    CatalogFunction,
    CatalogSnapshot,
    CatalogView,
    UpstreamCredential,
)
from wardgate_mysql.codec.constants import RELAYABLE, Capability, Com
from wardgate_mysql.codec.response_state import Part, Phase, ResponseTracker
from wardgate_mysql.codec.responses import ErrPacket
from wardgate_mysql.codec.resultset import decode_text_row
from wardgate_mysql.settings import MySQLUpstream
from wardgate_mysql.stream import PacketStream
from wardgate_mysql.upstream import Login, connect

COLUMNS_SQL = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, ORDINAL_POSITION "
    "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
)
VIEWS_SQL = (
    "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS "
    "WHERE TABLE_SCHEMA = DATABASE()"
)
ROUTINES_SQL = (
    "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, IS_DETERMINISTIC FROM information_schema.ROUTINES "
    "WHERE ROUTINE_SCHEMA = DATABASE()"
)
CAPABILITIES = RELAYABLE & ~(
    Capability.MULTI_STATEMENTS | Capability.CONNECT_ATTRS | Capability.NO_SCHEMA
)
UTF8MB4 = 45


class CatalogError(Exception):
    pass


async def read_catalog(
    settings: MySQLUpstream,
    credential: UpstreamCredential,
    database: str,
    seconds: float,
    max_payload: int,
) -> CatalogSnapshot:
    login = Login(credential.username, credential.password, database, CAPABILITIES, UTF8MB4)
    upstream = await connect(settings, login, seconds, max_payload)
    try:
        columns = await _rows(upstream.stream, upstream.capabilities, COLUMNS_SQL)
        views = await _rows(upstream.stream, upstream.capabilities, VIEWS_SQL)
        routines = await _rows(upstream.stream, upstream.capabilities, ROUTINES_SQL)
    finally:
        await upstream.stream.close()
    return CatalogSnapshot(
        columns=tuple(
            CatalogColumn(s or "", t or "", c or "", ty or "", int(p or 0))
            for s, t, c, ty, p in columns
        ),
        views=tuple(CatalogView(s or "", n or "", d or "") for s, n, d in views),
        functions=tuple(
            CatalogFunction(s or "", n or "", "immutable" if d == "YES" else "volatile")
            for s, n, d in routines
        ),
        taken_at=time.time(),
    )


async def _rows(stream: PacketStream, caps: int, sql: str) -> list[list[str | None]]:
    stream.seq = 0
    await stream.send(bytes([Com.QUERY]) + sql.encode())
    tracker = ResponseTracker(Phase.FIRST, caps)
    rows: list[list[str | None]] = []
    width = 0
    while not tracker.done:
        payload = (await stream.read()).payload
        part = tracker.feed(payload)
        if part is Part.ERR:
            raise CatalogError(ErrPacket.decode(payload).message)
        if part is Part.COLUMN:
            width += 1
        elif part is Part.ROW:
            values = decode_text_row(payload, width)
            rows.append([None if v is None else v.decode("utf-8", "replace") for v in values])
    return rows
