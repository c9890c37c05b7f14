"""wardgate's own login to Vault: token, AppRole, JWT (workload identity), Kubernetes.

Each method reads its secret from an environment variable or a file at login
time, so a rotated secret (a refreshed projected service-account token, a new
secret-id) is picked up at the next login without a restart. All functions here
are synchronous hvac calls; `VaultClient` runs them off the event loop.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac

from wardgate.config.model import K8S_TOKEN_FILE, VaultAuth
from wardgate.vault.errors import VaultError, guarded


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The Vault token's lifetime: `ttl` 0 means it does not expire."""

    ttl: int
    renewable: bool


@dataclass(frozen=True, slots=True)
class SecretSources:
    """Where secrets come from: environment and files relative to the config directory."""

    environ: Mapping[str, str]
    base_dir: Path

    def env(self, name: str) -> str:
        if name not in self.environ or not self.environ[name]:
            raise VaultError(f"environment variable {name} for Vault login is not set", "invalid")
        return self.environ[name]

    def file(self, name: str) -> str:
        path = Path(name) if Path(name).is_absolute() else self.base_dir / name
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            message = f"cannot read {path} for Vault login: {exc.strerror}"
            raise VaultError(message, "invalid") from None

    def either(self, env: str | None, file: str | None, what: str) -> str:
        if env:
            return self.env(env)
        if file:
            return self.file(file)
        raise VaultError(f"no source configured for the {what}", "invalid")


def default_sources(base_dir: Path) -> SecretSources:
    return SecretSources(os.environ, base_dir)


def _result(response: Mapping[str, Any] | None) -> LoginResult:
    auth = (response or {}).get("auth") or {}
    return LoginResult(int(auth.get("lease_duration") or 0), bool(auth.get("renewable")))


def _token(client: hvac.Client, auth: VaultAuth, sources: SecretSources) -> LoginResult:
    # token_env has a default (VAULT_TOKEN), so an explicit token_file wins over it
    client.token = sources.file(auth.token_file) if auth.token_file else sources.env(auth.token_env)
    data = guarded("auth/token/lookup-self", client.auth.token.lookup_self).get("data") or {}
    return LoginResult(int(data.get("ttl") or 0), bool(data.get("renewable")))


def _approle(client: hvac.Client, auth: VaultAuth, sources: SecretSources) -> LoginResult:
    role_id = auth.role_id or sources.env(auth.role_id_env or "")
    secret_id = None
    if auth.secret_id_env or auth.secret_id_file:
        secret_id = sources.either(auth.secret_id_env, auth.secret_id_file, "AppRole secret-id")
    mount = auth.mount or "approle"
    return _result(
        guarded(
            f"auth/{mount}/login",
            lambda: client.auth.approle.login(
                role_id=role_id, secret_id=secret_id, mount_point=mount
            ),
        )
    )


def _jwt(client: hvac.Client, auth: VaultAuth, sources: SecretSources) -> LoginResult:
    token = sources.either(auth.jwt_env, auth.jwt_file, "JWT")
    mount = auth.mount or "jwt"
    return _result(
        guarded(
            f"auth/{mount}/login",
            lambda: client.auth.jwt.jwt_login(role=auth.role, jwt=token, path=mount),
        )
    )


def _kubernetes(client: hvac.Client, auth: VaultAuth, sources: SecretSources) -> LoginResult:
    token = sources.either(auth.jwt_env, auth.jwt_file or K8S_TOKEN_FILE, "service-account token")
    mount = auth.mount or "kubernetes"
    return _result(
        guarded(
            f"auth/{mount}/login",
            lambda: client.auth.kubernetes.login(role=auth.role, jwt=token, mount_point=mount),
        )
    )


LOGINS: dict[str, Callable[[hvac.Client, VaultAuth, SecretSources], LoginResult]] = {
    "token": _token,
    "approle": _approle,
    "jwt": _jwt,
    "kubernetes": _kubernetes,
}


def login(client: hvac.Client, auth: VaultAuth, sources: SecretSources) -> LoginResult:
    """Log `client` in (sets `client.token`); raises VaultError."""
    return LOGINS[auth.method](client, auth, sources)
