"""The validated shape of `wardgate.yaml` (DESIGN.md, "Configuration").

Sections the running gateway does not implement yet are rejected by
`extra="forbid"` rather than silently ignored, so a policy written for a newer
version never fails open on an older one.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from wardgate.audit.config import AuditConfig, Seconds
from wardgate.masking.config import MaskingRule, check_rules
from wardgate.policy.model import PolicyConfig
from wardgate.recording.config import RecordingConfig
from wardgate.reviews.config import ReviewsConfig

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_listen(value: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 in brackets); port 0 means any free port."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected host:port, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad port in {value!r}")
    return host, int(port)


ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def check_secure_url(value: str) -> None:
    """https everywhere; plain http only to a loopback host (tests, a local Vault agent)."""
    scheme, sep, rest = value.partition("://")
    host = rest.split("/", 1)[0].rsplit(":", 1)[0] if not rest.startswith("[") else "[::1]"
    if not sep or scheme not in ("https", "http"):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError(f"{value!r} must use https (plain http is allowed only to loopback)")


class AdminConfig(Strict):
    listen: str = "127.0.0.1:8080"

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


class StateConfig(Strict):
    url: str = "sqlite:///wardgate.db"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("state.url must be sqlite:///PATH or postgresql://…")
        return value


class StaticToken(Strict):
    name: Annotated[str, Field(min_length=1)]
    groups: tuple[str, ...] = ()
    sha256: str

    @field_validator("sha256")
    @classmethod
    def _sha256(cls, value: str) -> str:
        if not _HEX64.match(value.lower()):
            raise ValueError("sha256 must be 64 hex digits (see `wardgate token create`)")
        return value.lower()


class OidcIssuer(Strict):
    """One trusted OIDC issuer (docs/identity.md)."""

    issuer: Annotated[str, Field(min_length=1)]
    audience: tuple[str, ...]
    name_claim: str = "sub"
    groups_claim: str = "groups"
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway: Annotated[float, Field(ge=0, le=300)] = 30.0
    jwks_uri: str | None = None  # skip discovery and fetch keys from here
    jwks_max_age: Annotated[float, Field(gt=0)] = 3600.0
    jwks_min_refresh_interval: Annotated[float, Field(ge=0)] = 30.0
    require: dict[str, str] = Field(default_factory=dict)  # claim path -> exact value
    client_id: str | None = None  # for `wardgate login`
    ca_file: str | None = None

    @field_validator("audience", mode="before")
    @classmethod
    def _audience(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("issuer", "jwks_uri")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None:
            check_secure_url(value)
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [alg for alg in value if alg not in ASYMMETRIC_ALGORITHMS]
        if bad or not value:
            allowed = ", ".join(ASYMMETRIC_ALGORITHMS)
            raise ValueError(f"algorithms must be asymmetric ({allowed}); got {bad or 'none'}")
        return value


class IdentityConfig(Strict):
    oidc: tuple[OidcIssuer, ...] = ()
    tokens: tuple[StaticToken, ...] = ()  # duplicate names: reported by the loader
    # End a session when the OIDC token that opened it expires (docs/identity.md).
    end_sessions_at_expiry: bool = False


class ServerTls(Strict):
    """Client-facing TLS for a listener."""

    cert: str
    key: str
    required: bool = False
    min_version: str = "TLSv1.2"


class StaticCredentials(Strict):
    user: str
    password: str | None = Field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> StaticCredentials:
        given = [x for x in (self.password, self.password_env, self.password_file) if x]
        if len(given) > 1:
            raise ValueError("give at most one of password, password_env, password_file")
        return self


class VaultCredentials(Strict):
    """Dynamic credentials leased per session from a Vault secrets engine."""

    path: str | None = None  # e.g. database/creds/orders-ro; the default for every identity
    roles_by_group: dict[str, str] = Field(default_factory=dict)  # group -> path, first match
    idle_reuse: Annotated[float, Field(ge=0)] | None = None  # overrides vault.idle_reuse

    @model_validator(mode="after")
    def _some_path(self) -> VaultCredentials:
        if self.path is None and not self.roles_by_group:
            raise ValueError("credentials.vault needs a path or roles_by_group")
        return self


class HeaderCredentials(Strict):
    """An HTTP header added to every upstream request (`protocol: http` resources).

    `value` keeps its `${env:…}` / `${file:…}` / `${vault:…}` references: they are
    checked when the file loads and resolved again for each session, so a rotated
    secret is picked up without a restart (docs/http.md).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")]
    value: str = Field(repr=False)
    refresh: Annotated[float, Field(ge=0)] = 30.0  # seconds a Vault read is reused


class CredentialsConfig(Strict):
    static: StaticCredentials | None = None
    vault: VaultCredentials | None = None
    header: HeaderCredentials | None = None

    @model_validator(mode="after")
    def _some_source(self) -> CredentialsConfig:
        if sum(x is not None for x in (self.static, self.vault, self.header)) != 1:
            raise ValueError("credentials need exactly one source: static, vault or header")
        return self


class AccessConfig(Strict):
    """Who may open a resource at all; checked before any upstream connection."""

    groups: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()


class ResourceConfig(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    protocol: str
    listen: str
    tls: ServerTls | None = None
    upstream: dict[str, Any] = Field(default_factory=dict)
    databases: tuple[str, ...] | None = None
    credentials: CredentialsConfig
    access: AccessConfig | None = None  # None: every authenticated identity
    reuse_port: bool = False  # SO_REUSEPORT: several processes share the port

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value


VAULT_AUTH_METHODS = ("token", "approle", "jwt", "kubernetes")
K8S_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"


class VaultAuth(Strict):
    """How wardgate logs in to Vault (docs/vault.md); secrets come from env vars or files."""

    method: str = "token"
    mount: str | None = None  # default: the method name
    token_env: str = "VAULT_TOKEN"
    token_file: str | None = None
    role_id: str | None = None
    role_id_env: str | None = None
    secret_id_env: str | None = None
    secret_id_file: str | None = None
    role: str | None = None  # jwt and kubernetes
    jwt_env: str | None = None
    jwt_file: str | None = None  # jwt: wardgate's workload token; kubernetes: SA token

    @model_validator(mode="after")
    def _complete(self) -> VaultAuth:
        if self.method not in VAULT_AUTH_METHODS:
            raise ValueError(f"vault.auth.method must be one of {', '.join(VAULT_AUTH_METHODS)}")
        if self.method == "approle" and not (self.role_id or self.role_id_env):
            raise ValueError("approle needs role_id or role_id_env")
        if self.method in ("jwt", "kubernetes") and not self.role:
            raise ValueError(f"{self.method} auth needs a role")
        if self.method == "jwt" and not (self.jwt_env or self.jwt_file):
            raise ValueError("jwt auth needs jwt_env or jwt_file")
        return self


class VaultConfig(Strict):
    url: str
    auth: VaultAuth = VaultAuth()
    namespace: str | None = None
    ca_file: str | None = None
    timeout: Annotated[float, Field(gt=0)] = 5.0
    idle_reuse: Annotated[float, Field(ge=0)] = 30.0  # seconds a released lease stays reusable
    renew_fraction: Annotated[float, Field(gt=0, lt=1)] = 2 / 3
    max_concurrency: Annotated[int, Field(ge=1, le=64)] = 8

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_secure_url(value)
        return value.rstrip("/")


class LimitsConfig(Strict):
    max_message_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    handshake_timeout: Annotated[float, Field(gt=0)] = 30.0
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    shutdown_grace: Annotated[float, Field(ge=0)] = 30.0


class LoggingConfig(Strict):
    level: str = "info"
    max_statement_chars: Annotated[int, Field(ge=0)] = 2000
    # How long a routine line may wait to be written with the ones after it (0: on the
    # event loop's next iteration). Warnings and errors are written at once.
    flush_interval: Seconds = 0.01


class WardgateConfig(Strict):
    """The whole file. `policy` defaults to deny-everything: no policy, no access."""

    admin: AdminConfig = AdminConfig()
    state: StateConfig = StateConfig()
    identity: IdentityConfig = IdentityConfig()
    vault: VaultConfig | None = None
    resources: tuple[ResourceConfig, ...] = ()
    limits: LimitsConfig = LimitsConfig()
    logging: LoggingConfig = LoggingConfig()
    policy: PolicyConfig = PolicyConfig()
    audit: AuditConfig = AuditConfig()
    recording: RecordingConfig | None = None  # absent: sessions are not recorded
    masking: tuple[MaskingRule, ...] = ()  # docs/masking.md
    masking_key: str | None = Field(default=None, repr=False)  # HMAC key of strategy `hash`
    reviews: ReviewsConfig = ReviewsConfig()

    @model_validator(mode="after")
    def _masking_rules(self) -> WardgateConfig:
        check_rules(self.masking, self.masking_key)
        return self

    @model_validator(mode="after")
    def _vault_configured(self) -> WardgateConfig:
        needs_vault = [r.name for r in self.resources if r.credentials.vault is not None]
        if needs_vault and self.vault is None:
            raise ValueError(f"resources {', '.join(needs_vault)} lease from Vault: add `vault`")
        return self
