"""Plans from reported sources (PG OID + attnum, MySQL org_table), views, unknowns."""

from __future__ import annotations

import asyncio

from wardgate.catalog.cache import CatalogCache
from wardgate.catalog.index import CatalogIndex
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.session import MaskingSession
from wardgate.seam import (
    Action,
    CatalogSnapshot,
    Command,
    Decision,
    Outcome,
    ResultColumn,
    UpstreamCredential,
)

from .conftest import OIDS, snapshot


def _plan(
    engine: MaskingEngine, index: CatalogIndex, sql: str, *columns: ResultColumn
) -> dict[int, str]:
    lineage = engine.trace(sql, "postgres", index)
    return {m.index: m.strategy for m in engine.plan(lineage, columns, index)}


def test_oid_and_attnum_resolve_the_source(engine: MaskingEngine, index: CatalogIndex) -> None:
    email = ResultColumn("e", table_oid=OIDS["customers"], column_number=2)
    name = ResultColumn("name", table_oid=OIDS["customers"], column_number=3)
    assert _plan(engine, index, "SELECT email AS e, name FROM customers", email, name) == {
        0: "partial"
    }


def test_a_view_column_is_traced_to_its_base(engine: MaskingEngine, index: CatalogIndex) -> None:
    contact = ResultColumn("contact", table_oid=OIDS["v_contacts"], column_number=1)
    assert _plan(engine, index, "TABLE v_contacts", contact) == {0: "partial"}


def test_mysql_org_table(engine: MaskingEngine, mysql_index: CatalogIndex) -> None:
    column = ResultColumn("e", source_table="shop.customers", source_column="email")
    lineage = engine.trace("SELECT email AS e FROM customers", "mysql", mysql_index)
    assert [m.strategy for m in engine.plan(lineage, [column], mysql_index)] == ["partial"]


def test_unknown_catalog_masks_what_may_be_masked(engine: MaskingEngine) -> None:
    unknown = CatalogIndex(default_schema="public")
    derived = ResultColumn("x")
    assert _plan(engine, unknown, "SELECT * FROM customers", derived) == {0: "null"}
    assert _plan(engine, unknown, "SELECT id FROM orders", derived) == {}


def test_plans_are_cached_per_shape(engine: MaskingEngine, index: CatalogIndex) -> None:
    lineage = engine.trace("SELECT email FROM customers", "postgres", index)
    columns = [ResultColumn("email")]
    assert engine.plan(lineage, columns, index) is engine.plan(lineage, columns, index)


class _Reader:
    def __init__(self) -> None:
        self.reads = 0

    async def read_catalog(self, credential: UpstreamCredential, database: str) -> CatalogSnapshot:
        self.reads += 1
        await asyncio.sleep(0)
        result: CatalogSnapshot = snapshot()
        return result


def test_session_cursor_ddl_and_deny(engine: MaskingEngine) -> None:
    async def run() -> None:
        reader = _Reader()
        cache = CatalogCache(reader, "pg", lambda db: "public")
        counts: dict[str, int] = {}
        session = MaskingSession(
            engine,
            lambda db: cache.get(UpstreamCredential(), db),
            "app",
            lambda rule, n: counts.__setitem__(rule, counts.get(rule, 0) + n),
            cache.invalidate,
        )
        allow = Decision(Action.ALLOW, "r", command_id="c1")
        await asyncio.gather(*(cache.get(UpstreamCredential(), "app") for _ in range(5)))
        assert reader.reads == 1  # one read in flight for everyone
        declare = Command(
            "query", "DECLARE cur CURSOR FOR SELECT upper(email) FROM customers", "postgres"
        )
        assert (await session.check(declare, allow)).allowed
        fetch = Command("query", "FETCH 10 FROM cur", "postgres")
        assert (await session.check(fetch, Decision(Action.ALLOW, "r", command_id="c2"))).allowed
        plan = session.plan("c2", [ResultColumn("upper")])
        assert [m.strategy for m in plan.columns] == ["redact"]
        notify = Command("query", "SELECT pg_notify('x', ssn) FROM customers", "postgres")
        denied = await session.check(notify, Decision(Action.ALLOW, "r", command_id="c3"))
        assert denied.action is Action.DENY
        assert denied.rule == "masking"
        ddl = Decision(Action.ALLOW, "r", command_id="c4", kind="ddl")
        await session.check(Command("query", "CREATE TABLE t (a int)", "postgres"), ddl)
        session.finish(Outcome("c4"))
        await cache.get(UpstreamCredential(), "app")
        assert reader.reads == 2  # DDL invalidated the snapshot

    asyncio.run(run())
