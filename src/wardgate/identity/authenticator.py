"""Turn a presented credential into a verified `Identity`, or refuse it.

Static tokens are checked first (one hash, constant time). A credential shaped
like a JWT goes to the verifier of the issuer named in its (unverified) `iss`;
an issuer nobody configured is refused without any network traffic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from wardgate.identity.oidc import OidcVerifier, TokenRejected, looks_like_jwt, peek
from wardgate.identity.tokens import StaticTokenVerifier
from wardgate.seam import Identity, PresentedCredential

MAX_TOKEN_CHARS = 16384


class Authenticator:
    def __init__(self, static: StaticTokenVerifier, oidc: Iterable[OidcVerifier] = ()) -> None:
        self._static = static
        self._issuers = {verifier.issuer: verifier for verifier in oidc}

    @property
    def issuers(self) -> tuple[str, ...]:
        return tuple(self._issuers)

    def replace_static(self, static: StaticTokenVerifier) -> None:
        """Put a new static token list in force (configuration reload)."""
        self._static = static

    @property
    def verifiers(self) -> tuple[OidcVerifier, ...]:
        return tuple(self._issuers.values())

    def replace_oidc(self, oidc: Iterable[OidcVerifier]) -> None:
        """Put a new set of issuers in force (configuration reload); a token of an
        issuer no longer listed is refused from now on."""
        self._issuers = {verifier.issuer: verifier for verifier in oidc}

    async def authenticate(self, credential: PresentedCredential) -> Identity:
        secret = credential.secret
        if not secret or len(secret) > MAX_TOKEN_CHARS:
            raise TokenRejected("no usable token was presented", "invalid_token")
        try:
            identity = self._static.verify(secret)
        except UnicodeError:  # not encodable (lone surrogates): no token of ours
            raise TokenRejected("the presented token is not valid", "invalid_token") from None
        if identity is not None:
            return identity
        if self._issuers and looks_like_jwt(secret):
            return await self._verify_jwt(secret)
        raise TokenRejected("the presented token is not valid", "invalid_token")

    async def _verify_jwt(self, token: str) -> Identity:
        peeked = peek(token)
        issuer = str(peeked.claims.get("iss", "")).rstrip("/")
        verifier = self._issuers.get(issuer)
        if verifier is None:
            raise TokenRejected("the token's issuer is not trusted", "untrusted_issuer")
        return await verifier.verify(token, peeked)

    async def prefetch(self) -> None:
        """Fetch every issuer's keys once (failures are logged by the caches, not raised)."""
        await asyncio.gather(*(v.keys.prefetch() for v in self._issuers.values()))

    async def close(self) -> None:
        await asyncio.gather(*(v.keys.close() for v in self._issuers.values()))
