"""`wardgate login`, `env` and `connect` as an agent runs them, against real servers."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from support.gateway import Gateway, Token
from support.oidc_issuer import OidcIssuer


def wardgate(
    *args: str, env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wardgate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WARDGATE_", "ACTIONS_ID_TOKEN", "PG", "MYSQL_"))
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env.update(extra)
    return env


def config_args(gateway: Gateway) -> list[str]:
    return ["-c", str(gateway.config_path), "--ready-file", str(gateway.ready_path)]


def device_login(issuer: OidcIssuer, env: dict[str, str], groups: list[str]) -> str:
    """Run `wardgate login`, approve its user code as the issuer's user; returns stderr."""
    argv = [
        sys.executable,
        "-m",
        "wardgate",
        "login",
        "--issuer",
        issuer.url,
        "--client-id",
        issuer.client_id,
    ]
    with subprocess.Popen(
        argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    ) as proc:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        code = re.search(r"enter the code (\S+)", line)
        assert code, line
        issuer.approve(code.group(1), sub="carol", groups=groups)
        rest = proc.stderr.read()
        assert proc.wait(30) == 0, rest
    return line + rest


def test_login_caches_a_token_that_env_and_connect_use(
    identity_gateway: Gateway, issuer: OidcIssuer, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    assert "Logged in" in device_login(issuer, env, ["agents"])
    cache = tmp_path / "config" / "wardgate" / "token.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    cached = json.loads(cache.read_text())
    assert cached["issuer"] == issuer.url
    assert cached["id_token"]

    printed = wardgate("env", "pg", *config_args(identity_gateway), env=env)
    assert printed.returncode == 0, printed.stderr
    exports = dict(re.findall(r"^export (\w+)=(.*)$", printed.stdout, re.M))
    host, port = identity_gateway.address("pg")
    assert exports["PGHOST"] == host
    assert exports["PGPORT"] == str(port)
    assert exports["PGUSER"] == "carol"
    assert exports["PGDATABASE"] == "app"
    assert exports["PGPASSWORD"].strip("'") == cached["id_token"]

    ran = wardgate(
        "connect",
        "pg",
        *config_args(identity_gateway),
        "--",
        "-XAtc",
        "SELECT current_user, (SELECT name FROM items WHERE id = 2)",
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    role, name = ran.stdout.strip().split("|")
    assert role.startswith("v-token-ro-")
    assert name == "two"


def test_an_expired_cached_login_is_refreshed(
    identity_gateway: Gateway, issuer: OidcIssuer, tmp_path: Path
) -> None:
    env = clean_env(tmp_path)
    device_login(issuer, env, ["dba"])
    cache = tmp_path / "config" / "wardgate" / "token.json"
    cached = json.loads(cache.read_text())
    cached["expires_at"] = 0
    cache.write_text(json.dumps(cached))
    ran = wardgate(
        "connect",
        "pg",
        *config_args(identity_gateway),
        "--",
        "-XAtc",
        "SELECT current_user",
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("v-token-rw-")
    assert json.loads(cache.read_text())["expires_at"] > 0
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_ci_token_from_github_actions_variables(
    identity_gateway: Gateway, ci_issuer: OidcIssuer, tmp_path: Path
) -> None:
    env = clean_env(
        tmp_path,
        ACTIONS_ID_TOKEN_REQUEST_URL=f"{ci_issuer.url}/actions/token?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN=ci_issuer.state.ci_request_token,
    )
    ran = wardgate(
        "connect", "pg", *config_args(identity_gateway), "--", "-XAtc", "SELECT 41 + 1", env=env
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "42"


def test_env_from_the_admin_api_and_wardgate_token(
    identity_gateway: Gateway, agent_token: Token, issuer: OidcIssuer, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, WARDGATE_TOKEN=agent_token.secret)
    printed = wardgate(
        "env",
        "pg",
        "--server",
        identity_gateway.admin_url,
        "--format",
        "json",
        "--user",
        "ci-job",
        env=env,
    )
    assert printed.returncode == 0, printed.stderr
    exported = json.loads(printed.stdout)
    assert exported["PGPORT"] == str(identity_gateway.port("pg"))
    assert exported["PGPASSWORD"] == agent_token.secret
    assert exported["PGUSER"] == "ci-job"
    url = identity_gateway.admin_url + "/api/resources"
    listed = httpx.get(url, headers={"Authorization": f"Bearer {agent_token.secret}"}).json()
    assert "pg_dba_only" not in {entry["name"] for entry in listed}  # access: dba only
    assert {"pg", "pg_reuse"} <= {entry["name"] for entry in listed}
    dba = issuer.mint("dana", ["dba"])
    listed = httpx.get(url, headers={"Authorization": f"Bearer {dba}"}).json()
    assert "pg_dba_only" in {entry["name"] for entry in listed}
    assert httpx.get(url, headers={"Authorization": "Bearer wgt_wrong"}).status_code == 401
    assert httpx.get(url).status_code == 401
