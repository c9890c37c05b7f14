"""A real OIDC issuer on loopback for tests: discovery, JWKS, device flow, CI tokens.

`OidcIssuer` runs a `ThreadingHTTPServer` in a daemon thread on 127.0.0.1:0 and
serves::

    GET  /.well-known/openid-configuration   discovery (issuer, jwks_uri, endpoints)
    GET  /jwks                               the public keys (fetches are counted)
    POST /device/code                        RFC 8628 device authorization
    POST /token                              device_code and refresh_token grants
    GET  /actions/token?audience=AUD         GitHub-Actions-style ID token request

Keys can be added, made current and retired (`rotate`, `retire`); `jwks_status`
makes the JWKS endpoint fail; `mint` signs tokens with any claims, key or
algorithm, including deliberately broken ones (`unsigned`, `hs256_with_public_key`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

Key = RSAKey | ECKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    claims: dict[str, Any] | None = None  # set when a "user" approves
    denied: bool = False
    polls: int = 0


@dataclass
class IssuerState:
    keys: dict[str, tuple[str, Key]] = field(default_factory=dict)  # kid -> (alg, key)
    current: str = ""
    jwks_fetches: int = 0
    jwks_status: int = 200
    grants: dict[str, DeviceGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    ci_request_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    ci_claims: dict[str, Any] = field(default_factory=dict)


class OidcIssuer:
    """One issuer. `start()`/`stop()` or a ``with`` block; `url` is the issuer URL."""

    def __init__(self, audience: str = "wardgate", client_id: str = "wardgate-cli") -> None:
        self.audience = audience
        self.client_id = client_id
        self.state = IssuerState()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""
        self.rotate("RS256")

    # -- keys ------------------------------------------------------------------

    def rotate(self, alg: str = "RS256") -> str:
        """Add a new key, make it the signing key, return its kid (old keys stay)."""
        kid = f"{alg.lower()}-{secrets.token_hex(4)}"
        params = {"kid": kid, "use": "sig", "alg": alg}
        key: Key
        if alg.startswith("ES"):
            key = ECKey.generate_key("P-256", parameters=params, private=True)
        else:
            key = RSAKey.generate_key(2048, parameters=params, private=True)
        with self.lock:
            self.state.keys[kid] = (alg, key)
            self.state.current = kid
        return kid

    def retire(self, kid: str) -> None:
        with self.lock:
            del self.state.keys[kid]

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            keys = [key for _alg, key in self.state.keys.values()]
        return KeySet(keys).as_dict(private=False)  # type: ignore[arg-type]

    @property
    def jwks_fetches(self) -> int:
        return self.state.jwks_fetches

    # -- tokens ----------------------------------------------------------------

    def claims(
        self, sub: str = "alice", groups: list[str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        }
        if groups is not None:
            claims["groups"] = groups
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        sub: str = "alice",
        groups: list[str] | None = None,
        *,
        kid: str | None = None,
        key: Key | None = None,
        **extra: Any,
    ) -> str:
        """A signed token; `key` signs with a key the issuer never published (forgery)."""
        kid = kid or self.state.current
        alg, own = self.state.keys.get(kid, ("RS256", None))
        signer = key or own
        assert signer is not None, f"no key {kid}"
        if key is not None:
            alg = "ES256" if isinstance(key, ECKey) else "RS256"
        header = {"alg": alg, "kid": kid, "typ": "JWT"}
        return jwt.encode(header, self.claims(sub, groups, **extra), signer)

    def unsigned(self, sub: str = "alice", groups: list[str] | None = None, **extra: Any) -> str:
        header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = _b64(json.dumps(self.claims(sub, groups, **extra)).encode())
        return f"{header}.{payload}."

    def hs256_with_public_key(self, sub: str = "alice", **extra: Any) -> str:
        """The classic key-confusion forgery: HMAC keyed with the issuer's public key PEM."""
        _alg, key = self.state.keys[self.state.current]
        header = _b64(json.dumps({"alg": "HS256", "kid": self.state.current}).encode())
        payload = _b64(json.dumps(self.claims(sub, **extra)).encode())
        signing_input = f"{header}.{payload}".encode()
        secret = key.as_pem(private=False)
        return (
            f"{header}.{payload}.{_b64(hmac.new(secret, signing_input, hashlib.sha256).digest())}"
        )

    # -- device flow -----------------------------------------------------------

    def approve(self, user_code: str, sub: str = "alice", groups: list[str] | None = None) -> None:
        with self.lock:
            for grant in self.state.grants.values():
                if grant.user_code == user_code:
                    grant.claims = {"sub": sub, "groups": groups or []}
                    return
        raise KeyError(user_code)

    def pending_user_codes(self) -> list[str]:
        with self.lock:
            return [g.user_code for g in self.state.grants.values() if g.claims is None]

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> OidcIssuer:
        handler = type("Handler", (_Handler,), {"issuer": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OidcIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint": f"{self.url}/token",
            "device_authorization_endpoint": f"{self.url}/device/code",
            "authorization_endpoint": f"{self.url}/authorize",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }


class _Handler(BaseHTTPRequestHandler):
    issuer: OidcIssuer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/.well-known/openid-configuration":
            self._send(200, self.issuer.discovery())
        elif url.path == "/jwks":
            state = self.issuer.state
            state.jwks_fetches += 1
            if state.jwks_status != 200:
                self._send(state.jwks_status, {"error": "unavailable"})
            else:
                self._send(200, self.issuer.jwks())
        elif url.path == "/actions/token":
            self._actions_token(parse_qs(url.query))
        else:
            self._send(404, {"error": "not_found"})

    def _actions_token(self, query: dict[str, list[str]]) -> None:
        state = self.issuer.state
        if self.headers.get("Authorization") != f"bearer {state.ci_request_token}":
            self._send(401, {"error": "unauthorized"})
            return
        audience = query.get("audience", [self.issuer.audience])[0]
        claims = {"sub": "repo:acme/app:ref:refs/heads/main", **state.ci_claims}
        token = self.issuer.mint(aud=audience, **claims)
        self._send(200, {"value": token})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if self.path == "/device/code":
            self._device_code(form)
        elif self.path == "/token":
            self._token(form)
        else:
            self._send(404, {"error": "not_found"})

    def _device_code(self, form: dict[str, str]) -> None:
        if form.get("client_id") != self.issuer.client_id:
            self._send(401, {"error": "invalid_client"})
            return
        grant = DeviceGrant(secrets.token_urlsafe(16), secrets.token_hex(4).upper())
        with self.issuer.lock:
            self.issuer.state.grants[grant.device_code] = grant
        self._send(
            200,
            {
                "device_code": grant.device_code,
                "user_code": grant.user_code,
                "verification_uri": f"{self.issuer.url}/device",
                "verification_uri_complete": f"{self.issuer.url}/device?code={grant.user_code}",
                "expires_in": 600,
                "interval": 1,
            },
        )

    def _token(self, form: dict[str, str]) -> None:
        grant_type = form.get("grant_type", "")
        if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
            self._device_token(form)
        elif grant_type == "refresh_token":
            claims = self.issuer.state.refresh_tokens.get(form.get("refresh_token", ""))
            if claims is None:
                self._send(400, {"error": "invalid_grant"})
            else:
                self._send(200, self._tokens(claims))
        else:
            self._send(400, {"error": "unsupported_grant_type"})

    def _device_token(self, form: dict[str, str]) -> None:
        grant = self.issuer.state.grants.get(form.get("device_code", ""))
        if grant is None:
            self._send(400, {"error": "expired_token"})
            return
        grant.polls += 1
        if grant.denied:
            self._send(400, {"error": "access_denied"})
        elif grant.claims is None:
            self._send(400, {"error": "authorization_pending"})
        else:
            self._send(200, self._tokens(grant.claims))

    def _tokens(self, claims: dict[str, Any]) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(16)
        self.issuer.state.refresh_tokens[refresh] = claims
        id_token = self.issuer.mint(claims["sub"], claims.get("groups"), aud=self.issuer.client_id)
        access = self.issuer.mint(claims["sub"], claims.get("groups"))
        return {
            "access_token": access,
            "id_token": id_token,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": 300,
        }
