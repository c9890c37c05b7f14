"""Turn a presented credential into a verified `Identity`, or refuse it."""

from __future__ import annotations

from wardgate.identity.tokens import StaticTokenVerifier
from wardgate.seam import AuthenticationFailed, Identity, PresentedCredential

MAX_TOKEN_CHARS = 16384


class Authenticator:
    def __init__(self, static: StaticTokenVerifier) -> None:
        self._static = static

    async def authenticate(self, credential: PresentedCredential) -> Identity:
        secret = credential.secret
        if not secret or len(secret) > MAX_TOKEN_CHARS:
            raise AuthenticationFailed("no usable token was presented")
        try:
            identity = self._static.verify(secret)
        except UnicodeError:
            raise AuthenticationFailed("the presented token is not valid") from None
        if identity is None:
            raise AuthenticationFailed("the presented token is not valid")
        return identity
