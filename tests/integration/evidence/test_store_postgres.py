"""The state store on PostgreSQL (several instances): migrations, audit rows, verify."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from wardgate.audit import schema
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog
from wardgate.audit.reader import JournalReader
from wardgate.metrics import Metrics
from wardgate.store import Migration, applied_versions, open_store

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture
def store_url(machine_pg: Any) -> Iterator[str]:
    name = f"wg_store_{secrets.token_hex(4)}"
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://{machine_pg.user}@{machine_pg.host}:{machine_pg.port}/{name}"
    with psycopg.connect(machine_pg.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_postgres_store_migrates_once_and_holds_the_audit(store_url: str, tmp_path: Path) -> None:
    extra = Migration("demo", 1, "demo table", "CREATE TABLE demo (id BIGINT PRIMARY KEY)")
    log = AuditLog(Journal(tmp_path), instance="pg-1", metrics=Metrics())
    log.open()
    for index in range(5):
        log.write("command", {"statement": f"select {index}"})
    entries = list(JournalReader(tmp_path))

    async def run() -> None:
        migrations = [*schema.MIGRATIONS, extra]
        first, second = await asyncio.gather(
            open_store(store_url, tmp_path, migrations), open_store(store_url, tmp_path, migrations)
        )  # two instances starting at once
        assert await applied_versions(first, "audit") == {1}
        await schema.insert(first, entries)
        await schema.insert(second, entries)  # duplicates are ignored
        async with first.transaction() as tx:
            await tx.execute("INSERT INTO demo (id) VALUES (:id)", {"id": 7})
        assert await second.fetchone("SELECT id FROM demo") == {"id": 7}
        reports = await schema.verify_store(second, None)
        assert reports["pg-1"].ok
        assert reports["pg-1"].records == 6
        await first.close()
        await second.close()

    asyncio.run(run())
