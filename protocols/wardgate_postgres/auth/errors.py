"""The error every client-side authentication algorithm raises."""

from __future__ import annotations

from ..codec.errors import ProtocolViolation

INVALID_AUTHORIZATION_SPECIFICATION = "28000"


class AuthFailed(ProtocolViolation):
    """The upstream's authentication exchange failed or could not be trusted.

    Raised on a bad server signature, a server-sent SCRAM error, a malformed or
    hostile challenge, or an unsupported mechanism. Never carries the password.
    """

    def __init__(self, message: str, sqlstate: str = INVALID_AUTHORIZATION_SPECIFICATION) -> None:
        super().__init__(message, sqlstate)
