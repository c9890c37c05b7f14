"""Reading the upstream catalog for masking and lineage (`CatalogReader`).

A short-lived upstream connection with the session's credential runs one simple
Query of three statements — columns of tables and views with their table OIDs
and attribute numbers (pg_class, pg_attribute, pg_namespace), view definitions
(pg_views, pg_matviews) and user-defined functions (pg_proc) — and reads the text
rows back. System schemas are left out: they hold no user data.
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
from wardgate_postgres.codec import (
    ErrorResponse,
    FrameSplitter,
    Query,
    ReadyForQuery,
    RowDescription,
    datarow_values,
    decode_backend,
)
from wardgate_postgres.settings import PostgresUpstream
from wardgate_postgres.upstream import UpstreamConnection, connect_upstream

USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
)
CATALOG_SQL = f"""
SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname,
       format_type(a.atttypid, a.atttypmod)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
   AND {USER_SCHEMAS};
SELECT schemaname, viewname, definition FROM pg_views
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT schemaname, matviewname, definition FROM pg_matviews;
SELECT n.nspname, p.proname, p.provolatile
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE {USER_SCHEMAS};
"""
VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
MAX_CATALOG_BYTES = 256 * 1024 * 1024


class CatalogError(Exception):
    pass


async def read_catalog(
    settings: PostgresUpstream,
    credential: UpstreamCredential,
    database: str,
    connect_timeout: float,
) -> CatalogSnapshot:
    connection = await connect_upstream(
        settings, credential, database, {"application_name": "wardgate-catalog"}, connect_timeout
    )
    try:
        results = await _run(connection, CATALOG_SQL)
    finally:
        connection.close()
    if len(results) != 3:
        raise CatalogError(f"expected 3 result sets, got {len(results)}")
    return _snapshot(*results)


async def _run(connection: UpstreamConnection, sql: str) -> list[list[list[str | None]]]:
    """Rows (as text) of each result set of a simple Query."""
    connection.writer.write(Query.build(sql).raw)
    await connection.writer.drain()
    splitter = FrameSplitter(MAX_CATALOG_BYTES)
    results: list[list[list[str | None]]] = []
    pending = [connection.leftover] if connection.leftover else []
    while True:
        data = pending.pop() if pending else await connection.reader.read(256 * 1024)
        if not data:
            raise CatalogError("the upstream closed the catalog connection")
        for frame in splitter.feed(data):
            if frame.type == ord("D"):
                values = datarow_values(frame.body)
                results[-1].append([None if v is None else v.decode() for v in values])
                continue
            message = decode_backend(frame)
            if isinstance(message, RowDescription):
                results.append([])
            elif isinstance(message, ErrorResponse):
                raise CatalogError(f"{message.sqlstate}: {message.message}")
            elif isinstance(message, ReadyForQuery):
                return results


def _snapshot(
    columns: list[list[str | None]],
    views: list[list[str | None]],
    functions: list[list[str | None]],
) -> CatalogSnapshot:
    oids: dict[int, tuple[str, str]] = {}
    catalog_columns = []
    for oid, schema, table, attnum, name, type_name in columns:
        oids[int(oid or 0)] = (schema or "", table or "")
        catalog_columns.append(
            CatalogColumn(schema or "", table or "", name or "", type_name or "", int(attnum or 0))
        )
    return CatalogSnapshot(
        columns=tuple(catalog_columns),
        views=tuple(CatalogView(s or "", n or "", d or "") for s, n, d in views),
        functions=tuple(
            CatalogFunction(s or "", n or "", VOLATILITY.get(v or "", "volatile"))
            for s, n, v in functions
        ),
        table_oids=oids,
        taken_at=time.time(),
    )
