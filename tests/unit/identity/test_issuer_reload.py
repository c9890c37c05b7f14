"""`IdentityServices.replace_issuers`: keep what did not change, build what is new,
retire what was dropped (after the grace period), and say which issuers changed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wardgate.config.model import OidcIssuer
from wardgate.identity import issuers as issuers_module
from wardgate.identity.issuers import IdentityServices


def settings(url: str, **extra: object) -> OidcIssuer:
    # Loopback port 9 (discard): key prefetches fail fast and are only logged.
    return OidcIssuer(issuer=url, audience=("wardgate",), jwks_uri=f"{url}/jwks", **extra)  # type: ignore[arg-type]


A = "http://127.0.0.1:9/a"
B = "http://127.0.0.1:9/b"


def test_replace_keeps_builds_and_retires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(issuers_module, "RETIRE_AFTER", 0.0)

    async def main() -> None:
        services = IdentityServices([], [settings(A)], tmp_path)
        [kept] = services.authenticator.verifiers
        dropped_client = services._built[issuers_module._key(settings(A))][1]

        assert services.replace_issuers([settings(A), settings(B)]) == [B]
        assert services.authenticator.issuers == (A, B)
        assert services.authenticator.verifiers[0] is kept  # unchanged: same keys

        assert services.replace_issuers([settings(A, leeway=5)]) == [A, B]  # changed A, dropped B
        [changed] = services.authenticator.verifiers
        assert changed is not kept
        assert changed.settings.leeway == 5
        for _ in range(20):  # the retirement task runs after RETIRE_AFTER
            await asyncio.sleep(0.01)
        assert dropped_client.is_closed
        await services.close()

    asyncio.run(main())


def test_an_unchanged_list_changes_nothing(tmp_path: Path) -> None:
    async def main() -> None:
        services = IdentityServices([], [settings(A), settings(B)], tmp_path)
        before = services.authenticator.verifiers
        assert services.replace_issuers([settings(A), settings(B)]) == []
        assert services.authenticator.verifiers == before
        await services.close()

    asyncio.run(main())
