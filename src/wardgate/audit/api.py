"""`GET /api/audit?after=SEQ`: this instance's audit records after a sequence number.

Bearer-token authenticated; when `audit.readers` names groups, only identities in
one of them may read the audit trail or the session recordings (403 otherwise).
Records come straight from the local journal, exactly as sealed, so a client can
verify the chain it receives (`wardgate audit tail --server`). `?session=ID` keeps
only that session's records (the sessions page shows them beside the recording).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query

from wardgate.audit.reader import JournalReader
from wardgate.seam import Identity

Authenticate = Callable[[str | None], Awaitable[Identity]]
MAX_LIMIT = 1000


class ReaderCheck:
    """Authenticates a bearer token and checks the identity may read evidence."""

    def __init__(self, authenticate: Authenticate, readers: frozenset[str]) -> None:
        self._authenticate = authenticate
        self._readers = readers

    async def __call__(self, authorization: str | None) -> Identity:
        identity = await self._authenticate(authorization)
        if self._readers and not identity.groups & self._readers:
            raise HTTPException(403, "reading evidence needs one of the audit.readers groups")
        return identity


def session_records(
    journal_dir: Path, session: str, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` records of one session after `after`, and the last sequence read.

    Scans the journal forward (records carry their session id, the journal has no
    index), so a caller pages with `next` like the unfiltered listing. Only lines
    whose bytes hold the session's canonical `"session":"ID"` member are parsed (a
    record of that session must; a match elsewhere in a line is checked exactly).
    """
    reader = JournalReader(journal_dir, after)
    needle = b'"session":' + json.dumps(session, ensure_ascii=False).encode("utf-8")
    found: list[dict[str, Any]] = []
    last = after
    while len(found) < limit and (entries := reader.read(MAX_LIMIT)):
        for entry in entries:
            last = entry.seq
            if needle in entry.line and entry.record.get("session") == session:
                found.append(entry.record)
                if len(found) == limit:
                    break
    return found, last


def page(journal_dir: Path, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` records after `after` (blocking: finding `after` reads the segment)."""
    entries = JournalReader(journal_dir, after).read(limit)
    return [entry.record for entry in entries], entries[-1].seq if entries else after


def audit_router(check: ReaderCheck, journal_dir: Path, instance: str) -> APIRouter:
    router = APIRouter()

    @router.get("/api/audit")
    async def audit_records(
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        session: Annotated[str | None, Query(max_length=128)] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        await check(authorization)
        if session:
            records, last = await asyncio.to_thread(
                session_records, journal_dir, session, after, limit
            )
            return {"instance": instance, "records": records, "next": last}
        records, last = await asyncio.to_thread(page, journal_dir, after, limit)
        return {"instance": instance, "records": records, "next": last}

    return router
