"""wardgate's own Vault login (AppRole, JWT) and `${vault:PATH#KEY}` in configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from support.certs import Certs
from support.gateway import Token, pg_resource
from support.oidc_issuer import OidcIssuer
from support.openbao import FakeTokenReview, OpenBao
from support.pgcluster import PgCluster
from wardgate.config import ConfigError, load_config
from wardgate.plugins import PluginRegistry
from wardgate_postgres.plugin import plugin as postgres_plugin

from .conftest import identity_extra, vault_resource

POLICY = """
path "database/creds/*" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "secret/data/*" { capabilities = ["read"] }
path "kv1/*" { capabilities = ["read"] }
"""


@pytest.fixture(scope="module")
def wardgate_policy(openbao: OpenBao) -> str:
    openbao.policy("wardgate", POLICY)
    return "wardgate"


@pytest.fixture(scope="module")
def approle(openbao: OpenBao, wardgate_policy: str) -> tuple[str, str]:
    return openbao.approle("wardgate", [wardgate_policy])


def approle_vault(openbao: OpenBao) -> dict[str, Any]:
    auth = {"method": "approle", "role_id_env": "WG_ROLE_ID", "secret_id_env": "WG_SECRET_ID"}
    return {"url": openbao.url, "auth": auth}


def test_kv_references_resolve_v2_v1_and_api_paths(
    openbao: OpenBao, approle: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openbao.kv_put("secret", "app", {"password": "from-kv2", "user": "kvuser"}, version=2)
    openbao.kv_put("kv1", "legacy", {"password": "from-kv1"}, version=1)
    monkeypatch.setenv("WG_ROLE_ID", approle[0])
    monkeypatch.setenv("WG_SECRET_ID", approle[1])

    def resource(name: str, password: str) -> dict[str, Any]:
        return pg_resource(name, user="${vault:secret/app#user}", password=password)

    config = {
        "vault": approle_vault(openbao),
        "resources": [
            resource("a", "${vault:secret/app#password}"),
            resource("b", "${vault:secret/data/app#password}"),
            resource("c", "${vault:kv1/legacy#password}"),
        ],
    }
    path = tmp_path / "wardgate.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    loaded = load_config(path, plugins=PluginRegistry({"postgres": postgres_plugin}))
    statics = [r.credentials.static for r in loaded.config.resources]
    assert [s.password for s in statics if s] == ["from-kv2", "from-kv2", "from-kv1"]
    assert {s.user for s in statics if s} == {"kvuser"}
    assert "from-kv2" not in loaded.version  # the version hashes the unresolved file


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("${vault:secret/app#nope}", "key 'nope' is not in the secret"),
        ("${vault:secret/missing#password}", "nothing at"),
        ("${vault:secret/app}", "PATH#KEY"),
    ],
)
def test_bad_kv_references_name_file_line_and_key(
    openbao: OpenBao,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    reference: str,
    words: str,
) -> None:
    openbao.kv_put("secret", "app", {"password": "from-kv2"}, version=2)
    vault = {"url": openbao.url, "auth": {"method": "token", "token_env": "WG_ROOT"}}
    config = {"vault": vault, "resources": [pg_resource("a", password=reference)]}
    path = tmp_path / "wardgate.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    monkeypatch.setenv("WG_ROOT", openbao.token)
    with pytest.raises(ConfigError) as caught:
        load_config(path, plugins=PluginRegistry({"postgres": postgres_plugin}))
    (issue,) = caught.value.issues
    assert words in issue.message
    assert issue.key == "resources[0].credentials.static.password"
    assert issue.line > 0


def connect_once(gateway: Any, token: Token) -> str:
    with psycopg.connect(gateway.dsn("pg", token=token.secret), autocommit=True) as conn:
        return str(conn.execute("SELECT current_user").fetchone()[0])


def test_approle_login_leases_credentials(
    gateway_factory: Any,
    openbao: OpenBao,
    approle: tuple[str, str],
    vault_pg: PgCluster,
    agent_token: Token,
) -> None:
    resources = [vault_resource("pg", vault_pg, {"path": "database/creds/ro", "idle_reuse": 0})]
    env = {"WG_ROLE_ID": approle[0], "WG_SECRET_ID": approle[1]}
    gateway = gateway_factory(
        resources, env=env, extra_config=identity_extra([], [agent_token], approle_vault(openbao))
    )
    assert connect_once(gateway, agent_token).startswith("v-approle-ro-")


def test_jwt_login_with_wardgates_workload_identity(
    gateway_factory: Any,
    openbao: OpenBao,
    wardgate_policy: str,
    issuer: OidcIssuer,
    vault_pg: PgCluster,
    agent_token: Token,
    tmp_path: Path,
) -> None:
    openbao.jwt_auth(issuer.url, "wardgate", "vault", [wardgate_policy])
    workload = tmp_path / "workload.jwt"
    workload.write_text(issuer.mint("system:serviceaccount:wardgate:gateway", aud="vault"))
    auth = {"method": "jwt", "role": "wardgate", "jwt_file": str(workload)}
    resources = [vault_resource("pg", vault_pg, {"path": "database/creds/ro", "idle_reuse": 0})]
    gateway = gateway_factory(
        resources,
        extra_config=identity_extra([], [agent_token], {"url": openbao.url, "auth": auth}),
    )
    assert connect_once(gateway, agent_token).startswith("v-jwt-")


def test_kubernetes_login_with_a_service_account_token(
    gateway_factory: Any,
    openbao: OpenBao,
    wardgate_policy: str,
    issuer: OidcIssuer,
    vault_pg: PgCluster,
    agent_token: Token,
    test_certs: Certs,
    tmp_path: Path,
) -> None:
    review = FakeTokenReview().start()
    try:
        if "kubernetes/" not in openbao.read("sys/auth")["data"]:
            openbao.enable_auth("kubernetes", "kubernetes")
        openbao.write(
            "auth/kubernetes/config",
            kubernetes_host=review.url,
            disable_local_ca_jwt=True,
            kubernetes_ca_cert=test_certs.ca.read_text(),  # required; unused over http
            token_reviewer_jwt="reviewer",
        )
        openbao.write(
            "auth/kubernetes/role/wardgate",
            bound_service_account_names=["gateway"],
            bound_service_account_namespaces=["wardgate"],
            token_policies=[wardgate_policy],
            token_ttl="1h",
        )
        sa_claims = {
            "kubernetes.io/serviceaccount/namespace": "wardgate",
            "kubernetes.io/serviceaccount/service-account.name": "gateway",
            "kubernetes.io/serviceaccount/service-account.uid": "uid-1",
        }
        sa_token = issuer.mint(
            "system:serviceaccount:wardgate:gateway",
            iss="kubernetes/serviceaccount",
            aud=["https://kubernetes.default.svc"],
            **sa_claims,
        )
        review.accepted[sa_token] = ("wardgate", "gateway", "uid-1")
        token_file = tmp_path / "sa-token"
        token_file.write_text(sa_token)
        auth = {"method": "kubernetes", "role": "wardgate", "jwt_file": str(token_file)}
        resources = [vault_resource("pg", vault_pg, {"path": "database/creds/ro", "idle_reuse": 0})]
        gateway = gateway_factory(
            resources,
            extra_config=identity_extra([], [agent_token], {"url": openbao.url, "auth": auth}),
        )
        assert connect_once(gateway, agent_token).startswith("v-kubernet-ro-")  # display name
        assert review.reviews == 1
    finally:
        review.stop()
