"""TLS over an already-open stream, with memory BIOs.

MySQL clients send their TLS hello right behind the SSLRequest, without waiting
for an answer, so those bytes may already sit in the StreamReader's buffer (or in
our frame decoder) when the upgrade starts; asyncio's `start_tls` would lose them.
Running the `ssl.SSLObject` here on top of the plain stream keeps every byte:
ciphertext is read from and written to the same reader/writer as before.
"""

from __future__ import annotations

import ssl


class TlsLayer:
    """One TLS session; feed it ciphertext, take plaintext, and the reverse."""

    def __init__(
        self, context: ssl.SSLContext, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = context.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side, server_hostname=server_hostname
        )

    def handshake_step(self) -> bool:
        """Advance the handshake; True when done, False when it needs more ciphertext."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        return True

    def feed(self, ciphertext: bytes) -> None:
        if ciphertext:
            self.incoming.write(ciphertext)
        else:
            self.incoming.write_eof()

    def take_output(self) -> bytes:
        return self.outgoing.read()

    def read_plain(self) -> bytes:
        """All plaintext decryptable from what was fed so far (b"" if none yet)."""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self.obj.read(64 * 1024)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def encrypt(self, plaintext: bytes) -> bytes:
        self.obj.write(plaintext)
        return self.outgoing.read()
