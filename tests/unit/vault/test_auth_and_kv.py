"""wardgate's Vault login methods and KV path logic against a fake hvac client."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import hvac.exceptions
import pytest
import requests
from pydantic import ValidationError

from wardgate.config.model import VaultAuth, VaultConfig, WardgateConfig
from wardgate.vault.auth import SecretSources, login
from wardgate.vault.client import SyncVault
from wardgate.vault.errors import VaultError, translate
from wardgate.vault.kv import KvResolver, api_path, secret_value, split_reference


class Recorder:
    def __init__(self, response: dict[str, Any]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.response = response

    def __call__(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.response


def fake_client() -> Any:
    auth = {"auth": {"lease_duration": 3600, "renewable": True}}
    return SimpleNamespace(
        token=None,
        auth=SimpleNamespace(
            approle=SimpleNamespace(login=Recorder(auth)),
            jwt=SimpleNamespace(jwt_login=Recorder(auth)),
            kubernetes=SimpleNamespace(login=Recorder(auth)),
            token=SimpleNamespace(lookup_self=lambda: {"data": {"ttl": 0, "renewable": False}}),
        ),
    )


def sources(tmp_path: Path, **environ: str) -> SecretSources:
    return SecretSources(environ, tmp_path)


def test_token_login_reads_the_token(tmp_path: Path) -> None:
    client = fake_client()
    result = login(client, VaultAuth(token_env="T"), sources(tmp_path, T="s.root"))
    assert client.token == "s.root"
    assert (result.ttl, result.renewable) == (0, False)
    with pytest.raises(VaultError, match="T for Vault login is not set"):
        login(client, VaultAuth(token_env="T"), sources(tmp_path))
    (tmp_path / "tok").write_text("s.file\n")
    login(client, VaultAuth(token_file="tok"), sources(tmp_path, VAULT_TOKEN="s.env"))
    assert client.token == "s.file"


def test_approle_login(tmp_path: Path) -> None:
    (tmp_path / "sid").write_text("secret-id\n")
    client = fake_client()
    auth = VaultAuth(method="approle", role_id="rid", secret_id_file="sid", mount="ar")
    assert login(client, auth, sources(tmp_path)).ttl == 3600
    assert client.auth.approle.login.calls == [
        {"role_id": "rid", "secret_id": "secret-id", "mount_point": "ar"}
    ]


def test_jwt_and_kubernetes_logins(tmp_path: Path) -> None:
    (tmp_path / "sa.jwt").write_text("eyJ.sa.token")
    client = fake_client()
    login(client, VaultAuth(method="jwt", role="wg", jwt_env="J"), sources(tmp_path, J="eyJ.w"))
    assert client.auth.jwt.jwt_login.calls == [{"role": "wg", "jwt": "eyJ.w", "path": "jwt"}]
    k8s = VaultAuth(method="kubernetes", role="wg", jwt_file=str(tmp_path / "sa.jwt"))
    login(client, k8s, sources(tmp_path))
    assert client.auth.kubernetes.login.calls == [
        {"role": "wg", "jwt": "eyJ.sa.token", "mount_point": "kubernetes"}
    ]
    missing = VaultAuth(method="kubernetes", role="wg", jwt_file=str(tmp_path / "none"))
    with pytest.raises(VaultError, match="cannot read"):
        login(client, missing, sources(tmp_path))


@pytest.mark.parametrize(
    ("auth", "message"),
    [
        ({"method": "ldap"}, "must be one of"),
        ({"method": "approle"}, "role_id"),
        ({"method": "jwt", "jwt_env": "J"}, "needs a role"),
        ({"method": "jwt", "role": "r"}, "jwt_env or jwt_file"),
    ],
)
def test_vault_auth_validation(auth: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        VaultAuth.model_validate(auth)


def test_vault_config_validation() -> None:
    with pytest.raises(ValidationError, match="https"):
        VaultConfig(url="http://vault.example.com:8200")
    assert VaultConfig(url="http://127.0.0.1:8200/").url == "http://127.0.0.1:8200"
    resource = {
        "name": "r",
        "protocol": "postgres",
        "listen": "127.0.0.1:0",
        "credentials": {"vault": {"path": "database/creds/x"}},
    }
    with pytest.raises(ValidationError, match="add `vault`"):
        WardgateConfig.model_validate({"resources": [resource]})
    both = {**resource, "credentials": {"vault": {"path": "p"}, "static": {"user": "u"}}}
    with pytest.raises(ValidationError, match="exactly one source"):
        WardgateConfig.model_validate({"vault": {"url": "https://v"}, "resources": [both]})


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (hvac.exceptions.InvalidPath(), "not_found"),
        (hvac.exceptions.Forbidden(), "forbidden"),
        (hvac.exceptions.VaultDown(), "sealed"),
        (hvac.exceptions.InvalidRequest(errors=["unknown role"]), "invalid"),
        (requests.ConnectionError(), "unreachable"),
        (requests.Timeout(), "unreachable"),
    ],
)
def test_errors_translate_to_kinds(exc: Exception, kind: str) -> None:
    assert translate(exc, "database/creds/x").kind == kind


class FakeSync:
    def __init__(self, mounts: dict[str, Any] | None, data: dict[str, Any]) -> None:
        self.mounts, self.data, self.reads = mounts, data, []  # type: ignore[var-annotated]

    def get(self, path: str) -> Any:
        return self.mounts

    def read(self, path: str) -> Any:
        self.reads.append(path)
        if path not in self.data:
            raise VaultError(f"nothing at {path} (role or secret missing)", "not_found")
        return SimpleNamespace(data=self.data[path])


KV2 = {"data": {"path": "secret/", "options": {"version": "2"}}}


def test_kv_paths() -> None:
    assert split_reference("secret/app#password") == ("secret/app", "password")
    with pytest.raises(ValueError, match="PATH#KEY"):
        split_reference("secret/app")
    assert api_path(FakeSync(KV2, {}), "secret/app") == "secret/data/app"  # type: ignore[arg-type]
    assert api_path(FakeSync(KV2, {}), "secret/data/app") == "secret/data/app"  # type: ignore[arg-type]
    kv1 = {"data": {"path": "kv/", "options": {"version": "1"}}}
    assert api_path(FakeSync(kv1, {}), "kv/app") == "kv/app"  # type: ignore[arg-type]
    assert api_path(FakeSync(None, {}), "secret/app") == "secret/app"  # type: ignore[arg-type]


def test_kv_values_and_caching() -> None:
    assert secret_value({"data": {"k": "v2"}, "metadata": {}}, "k") == "v2"
    assert secret_value({"k": 5}, "k") == "5"
    sync = FakeSync(KV2, {"secret/data/app": {"data": {"a": "1", "b": "2"}, "metadata": {}}})
    resolve = KvResolver(sync)  # type: ignore[arg-type]
    assert (resolve("secret/app#a"), resolve("secret/app#b")) == ("1", "2")
    assert sync.reads == ["secret/data/app"]
    with pytest.raises(ValueError, match="key 'c' is not in the secret"):
        resolve("secret/app#c")
    with pytest.raises(ValueError, match="nothing at"):
        resolve("secret/other#a")


def test_sync_vault_logs_in_once_and_again_after_403(tmp_path: Path) -> None:
    client = fake_client()
    reads: list[str] = []

    def read(path: str) -> dict[str, Any]:
        reads.append(path)
        if len(reads) == 2:
            raise hvac.exceptions.Forbidden()
        return {
            "lease_id": "l",
            "lease_duration": 5,
            "renewable": True,
            "data": {"username": "u", "password": "p"},
        }

    client.read = read
    config = VaultConfig(url="http://127.0.0.1:1", auth=VaultAuth(method="approle", role_id="r"))
    vault = SyncVault(config, tmp_path, client=client, sources=sources(tmp_path))
    assert vault.read("database/creds/x").lease_id == "l"
    assert vault.read("database/creds/x").data == {"username": "u", "password": "p"}
    assert len(client.auth.approle.login.calls) == 2  # first use, then after the 403
    assert reads == ["database/creds/x"] * 3
