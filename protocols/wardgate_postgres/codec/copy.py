"""CopyData and CopyDone, the two messages both directions share ("COPY Operations").

CopyData ('d') carries an arbitrary slice of the COPY stream (not aligned to rows);
CopyDone ('c') ends it. The same classes are re-exported by `frontend` and `backend`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .message import Empty, Message


@dataclass(frozen=True, slots=True)
class CopyData(Message):
    TYPE: ClassVar[int] = ord("d")
    data: bytes
    raw: bytes = field(default=b"", repr=False)

    def body(self) -> bytes:
        return self.data


@dataclass(frozen=True, slots=True)
class CopyDone(Empty):
    TYPE: ClassVar[int] = ord("c")
    raw: bytes = field(default=b"", repr=False)
