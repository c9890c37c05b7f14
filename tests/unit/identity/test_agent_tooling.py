"""`login` token cache, token sources and driver environments (no network)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import click
import pytest

from wardgate.cli.agent_env import driver_env, render, resource_from_config
from wardgate.cli.oauth import LoginError
from wardgate.cli.oidc_claims import default_user
from wardgate.cli.token_cache import CachedLogin, cache_path, load, save
from wardgate.cli.token_source import NoToken, cached_token, resolve_token


def login(**kw: Any) -> CachedLogin:
    base: dict[str, Any] = {
        "issuer": "https://idp",
        "client_id": "cli",
        "token_endpoint": "https://idp/token",
        "id_token": "id-1",
        "access_token": "at-1",
        "refresh_token": "rt-1",
        "expires_at": time.time() + 600,
    }
    base.update(kw)
    return CachedLogin(**base)


def test_cache_path_follows_xdg(tmp_path: Path) -> None:
    assert cache_path({"XDG_CONFIG_HOME": "/x"}) == Path("/x/wardgate/token.json")
    assert cache_path({"HOME": "/home/u"}) == Path("/home/u/.config/wardgate/token.json")


def test_saved_cache_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "wardgate" / "token.json"
    save(login(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load(path) == login(expires_at=load(path).expires_at)  # type: ignore[union-attr]
    assert "id-1" not in repr(load(path))
    assert list(path.parent.iterdir()) == [path]  # no temporary left behind
    path.write_text("{not json")
    assert load(path) is None


def test_cached_token_refreshes_when_expired(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    save(login(expires_at=0), path)
    calls: list[tuple[str, str, str]] = []

    def refresher(endpoint: str, client: str, refresh: str) -> dict[str, Any]:
        calls.append((endpoint, client, refresh))
        return {"id_token": "id-2", "access_token": "at-2", "expires_in": 300}

    assert cached_token(path, refresher) == "id-2"
    assert calls == [("https://idp/token", "cli", "rt-1")]
    assert load(path).refresh_token == "rt-1"  # type: ignore[union-attr]  # kept when not rotated
    assert cached_token(path, refresher) == "id-2"
    assert len(calls) == 1


def test_expired_login_without_refresh_asks_to_log_in(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    save(login(expires_at=0, refresh_token=""), path)
    with pytest.raises(NoToken, match="wardgate login"):
        cached_token(path)

    def failing(*_: str) -> dict[str, Any]:
        raise LoginError("invalid_grant")

    save(login(expires_at=0), path)
    with pytest.raises(NoToken, match="invalid_grant"):
        cached_token(path, failing)


def test_token_precedence(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(NoToken, match="WARDGATE_TOKEN"):
        resolve_token("wardgate", env)
    save(login(), cache_path(env))
    assert resolve_token("wardgate", env) == "id-1"
    assert resolve_token("wardgate", {**env, "WARDGATE_TOKEN": "wgt_x"}) == "wgt_x"
    assert login(id_token="").bearer() == "at-1"


def test_driver_env_for_postgres_and_mysql() -> None:
    pg = {
        "protocol": "postgres",
        "host": "127.0.0.1",
        "port": 15432,
        "database": "app",
        "tls": True,
    }
    assert driver_env(pg, "tok", "alice", "") == {
        "PGHOST": "127.0.0.1",
        "PGPORT": "15432",
        "PGUSER": "alice",
        "PGPASSWORD": "tok",
        "PGDATABASE": "app",
        "PGSSLMODE": "require",
    }
    my = {"protocol": "mysql", "host": "h", "port": 13306, "database": "shop"}
    env = driver_env(my, "tok", "bob", "other")
    assert env["MYSQL_TCP_PORT"] == "13306"
    assert env["MYSQL_PWD"] == "tok"
    assert env["MYSQL_DATABASE"] == "other"
    assert env["LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN"] == "1"
    with pytest.raises(click.ClickException):
        driver_env({"protocol": "http", "host": "h", "port": 1}, "t", "u", "")


def test_render_quotes_for_the_shell() -> None:
    out = render({"PGPASSWORD": "a b'c", "PGPORT": "1"}, "sh")
    assert out == "export PGPASSWORD='a b'\"'\"'c'\nexport PGPORT=1"
    assert json.loads(render({"A": "1"}, "json")) == {"A": "1"}


def test_resource_from_config_reads_yaml_only(tmp_path: Path) -> None:
    config = tmp_path / "wardgate.yaml"
    config.write_text(
        "resources:\n"
        "  - {name: pg, protocol: postgres, listen: '0.0.0.0:15432',\n"
        "     upstream: {database: app},\n"
        "     credentials: {static: {user: u, password: '${env:NOPE}'}}}\n"
        "  - {name: zero, protocol: postgres, listen: '127.0.0.1:0'}\n"
    )
    entry = resource_from_config(config, "pg", None)
    assert (entry["host"], entry["port"], entry["database"]) == ("127.0.0.1", 15432, "app")
    with pytest.raises(click.ClickException, match="port 0"):
        resource_from_config(config, "zero", None)
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"resources": {"zero": "127.0.0.1:5999"}}))
    assert resource_from_config(config, "zero", ready)["port"] == 5999
    with pytest.raises(click.ClickException, match="no resource"):
        resource_from_config(config, "nope", None)


def test_default_user_from_token_claims() -> None:
    import base64

    def jwt(claims: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"eyJhbGciOiJSUzI1NiJ9.{body}.sig"

    assert default_user(jwt({"preferred_username": "al", "sub": "x"})) == "al"
    assert default_user(jwt({"email": "a@b", "sub": "x"})) == "a@b"
    assert default_user(jwt({"sub": "x"})) == "x"
    assert default_user("wgt_static")  # falls back to the login name


def test_env_without_any_token_is_a_clear_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wardgate.cli.main import cli

    config = tmp_path / "wardgate.yaml"
    config.write_text("resources: [{name: pg, protocol: postgres, listen: '127.0.0.1:5999'}]\n")
    env = {
        "XDG_CONFIG_HOME": str(tmp_path),
        "WARDGATE_TOKEN": "",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "",
    }
    result = CliRunner().invoke(cli, ["env", "pg", "-c", str(config)], env=env)
    assert result.exit_code == 1
    assert "wardgate login" in result.output
    ok = CliRunner().invoke(
        cli, ["env", "pg", "-c", str(config)], env={**env, "WARDGATE_TOKEN": "t"}
    )
    assert ok.exit_code == 0, ok.output
    assert "export PGPORT=5999" in ok.output
