"""The audit table in the state store, and the queries on it.

Each gateway instance writes its own chain, so rows are keyed by (instance, seq).
The ``record`` column holds the canonical line exactly as sealed; the other columns
are copies for filtering and are not trusted by `verify_store`.
"""

from __future__ import annotations

from collections.abc import Sequence

from wardgate.audit.reader import Entry
from wardgate.audit.verify import Report, Verifier
from wardgate.store import Migration, Store

MIGRATIONS = (
    Migration(
        "audit",
        1,
        "audit records",
        """
CREATE TABLE audit_records (
    instance TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ts TEXT NOT NULL,
    type TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    identity TEXT NOT NULL DEFAULT '',
    resource TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL,
    PRIMARY KEY (instance, seq)
);
CREATE INDEX audit_records_session ON audit_records (session);
CREATE INDEX audit_records_ts ON audit_records (ts)
""",
    ),
)

COLUMNS = ("instance", "seq", "ts", "type", "session", "identity", "resource", "record")


def _row(entry: Entry) -> tuple[str, int, str, str, str, str, str, str]:
    c = entry.columns  # known without parsing the line for records the gateway just wrote
    record = entry.line.decode("utf-8").rstrip("\n")
    return (c.instance, entry.seq, c.ts, c.type, c.session, c.identity, c.resource, record)


async def insert(store: Store, entries: Sequence[Entry]) -> None:
    """Idempotent: a record already stored (same instance and seq) is skipped."""
    rows = [_row(entry) for entry in entries if entry.seq > 0]
    if rows:
        await store.insert("audit_records", COLUMNS, rows, unique=("instance", "seq"))


async def instances(store: Store) -> list[str]:
    rows = await store.fetchall("SELECT DISTINCT instance FROM audit_records ORDER BY instance")
    return [str(row["instance"]) for row in rows]


async def records_after(
    store: Store, instance: str, after: int, limit: int = 500
) -> list[tuple[int, str]]:
    rows = await store.fetchall(
        "SELECT seq, record FROM audit_records WHERE instance = :instance AND seq > :after"
        " ORDER BY seq LIMIT :limit",
        {"instance": instance, "after": after, "limit": limit},
    )
    return [(int(row["seq"]), str(row["record"])) for row in rows]


async def verify_store(store: Store, key: bytes | None) -> dict[str, Report]:
    """One chain report per instance found in the store."""
    reports = {}
    for instance in await instances(store):
        verifier = Verifier(key)
        after = 0
        while rows := await records_after(store, instance, after, 2000):
            for seq, text in rows:
                location = f"store audit_records instance={instance} seq={seq}"
                if not verifier.feed(location, text.encode("utf-8")):
                    break
            after = rows[-1][0]
            if verifier.report.problem is not None:
                break
        reports[instance] = verifier.report
    return reports
