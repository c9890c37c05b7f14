"""`wardgate env RESOURCE` and `wardgate connect RESOURCE`: drivers pointed at wardgate.

The resource's address comes from a local config (`-c FILE`, with the bound
ports from `--ready-file` when listeners use port 0) or from a running gateway's
admin API (`--server URL` / `WARDGATE_SERVER`: `GET /api/resources`). The
password the driver gets is the caller's own token (see `token_source`); the
upstream credential stays inside wardgate.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import httpx
import yaml

from wardgate.cli.oidc_claims import default_user
from wardgate.cli.token_source import NoToken, resolve_token

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def _listen_address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def resource_from_config(path: Path, name: str, ready_file: Path | None) -> dict[str, Any]:
    """The resource entry from a wardgate.yaml, read as YAML only (no secrets resolved)."""
    tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for entry in tree.get("resources") or []:
        if entry.get("name") == name:
            break
    else:
        raise click.ClickException(f"{path}: no resource named {name!r}")
    listen = str(entry.get("listen", ""))
    if ready_file is not None:
        listen = json.loads(ready_file.read_text())["resources"][name]
    host, port = _listen_address(listen)
    if port == 0:
        raise click.ClickException(f"{name} listens on port 0; pass --ready-file or --server")
    tls = entry.get("tls") or {}
    return {
        "name": name,
        "protocol": entry.get("protocol", ""),
        "host": "127.0.0.1" if host in WILDCARD_HOSTS else host,
        "port": port,
        "database": (entry.get("upstream") or {}).get("database", ""),
        "tls": bool(tls),
        "tls_required": bool(tls.get("required")),
    }


def resource_from_server(server: str, name: str, token: str) -> dict[str, Any]:
    url = server.rstrip("/") + "/api/resources"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach {url}: {exc}") from None
    if response.status_code != 200:
        raise click.ClickException(f"{url}: HTTP {response.status_code} {response.text[:200]}")
    for entry in response.json():
        if entry.get("name") == name:
            if entry.get("host") in WILDCARD_HOSTS:
                entry["host"] = httpx.URL(server).host
            return dict(entry)
    raise click.ClickException(f"{server} offers no resource {name!r} to you")


def driver_env(resource: Mapping[str, Any], token: str, user: str, database: str) -> dict[str, str]:
    protocol, host, port = resource["protocol"], str(resource["host"]), str(resource["port"])
    database = database or str(resource.get("database") or "")
    if protocol == "postgres":
        env = {"PGHOST": host, "PGPORT": port, "PGUSER": user, "PGPASSWORD": token}
        if database:
            env["PGDATABASE"] = database
        if resource.get("tls"):
            env["PGSSLMODE"] = "require"
        return env
    if protocol == "mysql":
        env = {
            "MYSQL_HOST": host,
            "MYSQL_TCP_PORT": port,
            "MYSQL_PWD": token,
            "MYSQL_USER": user,
            "LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN": "1",
        }
        if database:
            env["MYSQL_DATABASE"] = database
        return env
    raise click.ClickException(f"no driver environment for protocol {protocol!r}")


def render(env: Mapping[str, str], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(dict(env), indent=2)
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in env.items())


def _prepare(
    name: str,
    config_path: Path | None,
    ready_file: Path | None,
    server: str | None,
    user: str | None,
    database: str | None,
    audience: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        token = resolve_token(audience)
    except NoToken as exc:
        raise click.ClickException(str(exc)) from None
    if config_path is not None:
        resource = resource_from_config(config_path, name, ready_file)
    elif server:
        resource = resource_from_server(server, name, token)
    else:
        raise click.UsageError("give -c FILE or --server URL (or set WARDGATE_SERVER)")
    return resource, driver_env(resource, token, user or default_user(token), database or "")


def _options(command: Any) -> Any:
    decorators = [
        click.argument("name", metavar="RESOURCE"),
        click.option(
            "-c",
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="Read the resource's address from this wardgate.yaml.",
        ),
        click.option(
            "--ready-file",
            type=click.Path(path_type=Path),
            help="The ready file of `serve` (bound ports when listen uses port 0).",
        ),
        click.option(
            "--server",
            envvar="WARDGATE_SERVER",
            help="A running gateway's admin URL (GET /api/resources).",
        ),
        click.option("--user", help="User name for the driver (only recorded by wardgate)."),
        click.option("--database", help="Database to ask for (default: the resource's)."),
        click.option(
            "--audience",
            envvar="WARDGATE_AUDIENCE",
            default="wardgate",
            show_default=True,
            help="Audience of a CI OIDC token request.",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


@click.command("env")
@_options
@click.option("--format", "fmt", type=click.Choice(["sh", "json"]), default="sh", show_default=True)
def env_command(fmt: str, **options: Any) -> None:
    """Print the environment a driver needs to reach RESOURCE through wardgate."""
    _resource, env = _prepare(**options)
    click.echo(render(env, fmt))


PROGRAMS = {"postgres": ("psql",), "mysql": ("mariadb", "mysql")}


def program_argv(
    resource: Mapping[str, Any], env: Mapping[str, str], program: str | None, extra: tuple[str, ...]
) -> list[str]:
    protocol = str(resource["protocol"])
    candidates = (program,) if program else PROGRAMS.get(protocol, ())
    found = next((shutil.which(c) for c in candidates if shutil.which(c)), None)
    if found is None:
        raise click.ClickException(f"none of {', '.join(candidates) or 'no client'} is on PATH")
    argv = [found]
    if protocol == "mysql":
        # cleartext auth: Oracle's client reads LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN from the
        # environment; MariaDB's allows it by default and warns on the obsolete flag
        argv.append(f"--user={env['MYSQL_USER']}")
        if env.get("MYSQL_DATABASE"):
            argv.append(f"--database={env['MYSQL_DATABASE']}")
    return argv + list(extra)


@click.command("connect", context_settings={"ignore_unknown_options": True})
@_options
@click.option("--program", help="Client to run instead of psql / mariadb / mysql.")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def connect_command(program: str | None, extra: tuple[str, ...], **options: Any) -> None:
    """Run psql (or mariadb/mysql) against RESOURCE through wardgate; args after -- pass on."""
    resource, env = _prepare(**options)
    argv = program_argv(resource, env, program, extra)
    os.execvpe(argv[0], argv, {**os.environ, **env})
