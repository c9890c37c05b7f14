"""The `wardgate login` token cache: `$XDG_CONFIG_HOME/wardgate/token.json`, mode 0600.

The file holds the issuer, the client id, the token endpoint and the tokens the
device flow returned (ID, access, refresh) with their expiry. It is written to a
temporary file created 0600 in a 0700 directory and renamed over the old one, so
no other user can read it even for a moment and a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "wardgate"


def cache_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "token.json"


@dataclass(frozen=True, slots=True)
class CachedLogin:
    issuer: str
    client_id: str
    token_endpoint: str
    id_token: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float = 0.0

    def bearer(self) -> str:
        """The token to present: the ID token (audience = this client), else the access token."""
        return self.id_token or self.access_token

    def fresh(self, now: float | None = None, margin: float = 30.0) -> bool:
        return bool(self.bearer()) and (now or time.time()) < self.expires_at - margin

    @classmethod
    def from_response(
        cls, issuer: str, client_id: str, token_endpoint: str, response: Mapping[str, Any]
    ) -> CachedLogin:
        expires_in = float(response.get("expires_in") or 300)
        return cls(
            issuer=issuer,
            client_id=client_id,
            token_endpoint=token_endpoint,
            id_token=str(response.get("id_token") or ""),
            access_token=str(response.get("access_token") or ""),
            refresh_token=str(response.get("refresh_token") or ""),
            expires_at=time.time() + expires_in,
        )


def save(login: CachedLogin, path: Path) -> None:
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(login), handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load(path: Path) -> CachedLogin | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return CachedLogin(**data)
    except (OSError, ValueError, TypeError):
        return None
