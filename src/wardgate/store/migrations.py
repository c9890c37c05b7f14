"""Schema migrations, owned per component.

Every subsystem that keeps state (audit, reviews …) declares an ordered list of
`Migration`s under its own `component` name; `migrate` applies the missing ones in
version order inside one transaction each and records them in `schema_migrations`.
A migration may give a PostgreSQL variant when the SQLite text does not fit both.
Statements inside one migration are separated by ``;`` at the end of a line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from wardgate.store.base import Store, Transaction

_LOCK_KEY = 0x77617264  # "ward"

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str
    postgres_sql: str | None = None

    def text_for(self, dialect: str) -> str:
        return self.postgres_sql if dialect == "postgres" and self.postgres_sql else self.sql

    def statements(self, dialect: str) -> list[str]:
        parts = self.text_for(dialect).split(";\n")
        return [part.strip().rstrip(";") for part in parts if part.strip()]


async def _serialize(tx: Transaction, dialect: str) -> None:
    """Several instances starting at once migrate one after the other (PostgreSQL)."""
    if dialect == "postgres":
        await tx.fetchone("SELECT pg_advisory_xact_lock(:key) AS locked", {"key": _LOCK_KEY})


async def applied_versions(store: Store, component: str) -> set[int]:
    rows = await store.fetchall(
        "SELECT version FROM schema_migrations WHERE component = :component",
        {"component": component},
    )
    return {int(row["version"]) for row in rows}


def _check_order(migrations: Sequence[Migration]) -> None:
    seen: set[tuple[str, int]] = set()
    for migration in migrations:
        key = (migration.component, migration.version)
        if key in seen:
            raise ValueError(f"duplicate migration {key}")
        seen.add(key)


async def migrate(store: Store, migrations: Iterable[Migration]) -> list[Migration]:
    """Apply every migration not applied yet; returns those applied now."""
    pending = sorted(migrations, key=lambda m: (m.component, m.version))
    _check_order(pending)
    async with store.transaction() as tx:
        await _serialize(tx, store.dialect)
        await tx.execute(_BOOKKEEPING)
    applied: list[Migration] = []
    for migration in pending:
        async with store.transaction() as tx:
            await _serialize(tx, store.dialect)
            done = await tx.fetchone(
                "SELECT 1 AS done FROM schema_migrations"
                " WHERE component = :component AND version = :version",
                {"component": migration.component, "version": migration.version},
            )
            if done is not None:
                continue
            for statement in migration.statements(store.dialect):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (component, version, name, applied_at)"
                " VALUES (:component, :version, :name, :at)",
                {
                    "component": migration.component,
                    "version": migration.version,
                    "name": migration.name,
                    "at": datetime.now(UTC).isoformat(),
                },
            )
        applied.append(migration)
    return applied
