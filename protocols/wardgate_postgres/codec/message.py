"""The common shape of every typed message: fields, ``raw`` bytes and ``encode()``.

Each message of "Message Formats" (protocol 3.0) is a frozen, slotted dataclass
subclassing `Message`. A decoded message keeps the exact frame it came from in
``raw`` (type byte + Int32 length + body) so a relay can re-send it untouched; a
message built by hand leaves ``raw`` out and gets it computed from its fields.
``encode()`` always re-serialises the fields, so ``decode(b).encode() == b`` holds
for every well-formed frame (the encodings are canonical).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from .wire import frame


class Message:
    """Base of every message dataclass (no fields of its own)."""

    __slots__ = ()
    TYPE: ClassVar[int]
    raw: bytes

    def __post_init__(self) -> None:
        if not self.raw:
            object.__setattr__(self, "raw", self.encode())

    def body(self) -> bytes:
        """The message body (everything after type byte and length)."""
        raise NotImplementedError

    def encode(self) -> bytes:
        """The exact frame for these fields (type byte + Int32 length + body)."""
        return frame(self.TYPE, self.body())

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Self:
        """Construct from fields; ``raw`` is computed. Same as calling the class."""
        return cls(*args, **kwargs)


class Empty(Message):
    """A message whose body is empty (Sync, Flush, ParseComplete …)."""

    __slots__ = ()

    def body(self) -> bytes:
        return b""
