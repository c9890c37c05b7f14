"""Structured operational log: one JSON object per line with an `event` key.

This is the operator's log, not the audit trail. Fields are given by callers;
tokens and passwords are never passed here (the seam keeps them in `repr=False`
fields and no caller formats them).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
#: `json.dumps(record, default=str, ensure_ascii=False)` without building an encoder
#: per line (this runs once or twice per command).
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class EventLog:
    def __init__(self, stream: TextIO | None = None, level: str = "info") -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._threshold = LEVELS.get(level, 20)

    def enabled(self, level: str = "info") -> bool:
        """Whether a line at `level` is written (callers skip building costly fields)."""
        return LEVELS.get(level, 20) >= self._threshold

    def emit(self, event: str, level: str = "info", **fields: Any) -> None:
        if LEVELS.get(level, 20) < self._threshold:
            return
        record = {"ts": round(time.time(), 6), "level": level, "event": event, **fields}
        try:
            self._stream.write(_encode(record) + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed log stream must never take a connection down
