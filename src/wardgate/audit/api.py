"""`GET /api/audit?after=SEQ`: this instance's audit records after a sequence number.

Bearer-token authenticated; when `audit.readers` names groups, only identities in
one of them may read the audit trail or the session recordings (403 otherwise).
Records come straight from the local journal, exactly as sealed, so a client can
verify the chain it receives (`wardgate audit tail --server`).
"""

from __future__ import annotations

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


def audit_router(check: ReaderCheck, journal_dir: Path, instance: str) -> APIRouter:
    router = APIRouter()

    @router.get("/api/audit")
    async def audit_records(
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        await check(authorization)
        entries = JournalReader(journal_dir, after).read(limit)
        last = entries[-1].seq if entries else after
        return {"instance": instance, "records": [e.record for e in entries], "next": last}

    return router
