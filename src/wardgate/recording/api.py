"""`GET /api/sessions` and `GET /api/sessions/{id}`: recorded sessions of this instance.

The list comes from the recording directory (header facts, newest first, `limit`
at most); one session adds its footer, frame counts, whether its closing digest
checks out, and — with `?frames=true` — the transcript lines and the `timeline`
the web page shows (per frame: offset, direction, size, text and hex dump of its
first 2 KiB; at most `frame_limit` frames).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query

from wardgate.audit.api import ReaderCheck
from wardgate.recording.catalog import RecordingNotFound, find_recording, list_sessions
from wardgate.recording.format import FormatError
from wardgate.recording.reader import read_recording
from wardgate.recording.transcript import frame_lines, frame_view
from wardgate.seam import Direction

#: Frames the page's timeline carries at most (each with up to 2 KiB as text and hex).
MAX_FRAMES = 1000


def session_detail(path: Path, frames: bool, frame_limit: int = MAX_FRAMES) -> dict[str, Any]:
    recording = read_recording(path)
    counts = {d.value: 0 for d in Direction}
    for frame in recording.frames:
        counts[frame.direction.value] += 1
    detail: dict[str, Any] = {
        "id": recording.session_id,
        "file": path.name,
        "header": recording.header,
        "footer": recording.footer,
        "complete": recording.complete,
        "digest_ok": recording.verify() == "",
        "frames": counts,
    }
    if frames:
        detail["transcript"] = [line for f in recording.frames for line in frame_lines(f)]
        detail["timeline"] = [frame_view(f) for f in recording.frames[:frame_limit]]
        detail["timeline_truncated"] = len(recording.frames) > frame_limit
    return detail


def sessions_router(check: ReaderCheck, directory: Path | None) -> APIRouter:
    router = APIRouter()

    @router.get("/api/sessions")
    async def sessions(
        limit: Annotated[int, Query(ge=1, le=10000)] = 200,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        await check(authorization)
        if directory is None:
            return {"recording": False, "sessions": []}
        found = (await asyncio.to_thread(list_sessions, directory))[:limit]
        return {"recording": True, "sessions": [info.as_dict() for info in found]}

    @router.get("/api/sessions/{session_id}")
    async def session(
        session_id: str,
        frames: bool = False,
        frame_limit: Annotated[int, Query(ge=1, le=100_000)] = MAX_FRAMES,
        authorization: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        await check(authorization)
        if directory is None:
            raise HTTPException(404, "sessions are not recorded (no `recording` section)")
        try:
            # Reading and decompressing a recording is blocking work: not on the loop
            # that relays every session.
            path = await asyncio.to_thread(find_recording, directory, session_id)
            return await asyncio.to_thread(session_detail, path, frames, frame_limit)
        except (RecordingNotFound, FormatError, OSError) as exc:
            raise HTTPException(404, str(exc)) from None

    return router
