"""Static upstream credentials from config, an environment variable or a file.

The env var and the file are read at each session open, so rotating the secret
needs no restart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from wardgate.config.model import StaticCredentials
from wardgate.seam import Identity, UpstreamCredential, UpstreamUnavailable


class StaticCredentialProvider:
    def __init__(
        self,
        spec: StaticCredentials,
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._spec = spec
        self._base_dir = base_dir
        self._environ = os.environ if environ is None else environ

    def _password(self) -> str:
        spec = self._spec
        if spec.password_env:
            if spec.password_env not in self._environ:
                raise UpstreamUnavailable(
                    f"upstream password variable {spec.password_env} is not set"
                )
            return self._environ[spec.password_env]
        if spec.password_file:
            path = Path(spec.password_file)
            path = path if path.is_absolute() else self._base_dir / path
            try:
                return path.read_text(encoding="utf-8").rstrip("\n")
            except OSError:
                raise UpstreamUnavailable("upstream password file is unreadable") from None
        return spec.password or ""

    async def lease(self, identity: Identity | None = None) -> UpstreamCredential:
        return UpstreamCredential(username=self._spec.user, password=self._password())

    async def release(self, credential: UpstreamCredential) -> None:
        """Static credentials outlive sessions; nothing to revoke."""
