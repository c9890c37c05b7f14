"""The seam between the core and protocol plugins.

Everything a protocol plugin may know about the core is in this module: the
protocol-neutral values it exchanges (identities, commands, decisions, result
columns, masking plans, outcomes) and the two interfaces on either side of the
seam — the `Gate` the core gives a plugin, and the `ProtocolPlugin` a plugin
registers through the ``wardgate.protocols`` entry-point group.

A plugin owns bytes; the core owns decisions and evidence. Nothing here mentions
a wire format, YAML, Vault or OIDC.
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class Direction(enum.Enum):
    """Which way a frame travels, for recording and byte counters."""

    CLIENT_TO_SERVER = "c2s"
    SERVER_TO_CLIENT = "s2c"


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a connection comes from and what it claims, for evidence only."""

    address: str
    port: int
    user: str = ""
    database: str = ""
    application: str = ""
    tls: bool = False


@dataclass(frozen=True, slots=True)
class PresentedCredential:
    """A bearer credential the client presented (a token, never logged)."""

    secret: str = field(repr=False)
    user: str = ""


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller."""

    name: str
    groups: frozenset[str] = frozenset()
    method: str = "static"  # "static" | "oidc"
    issuer: str = ""
    # The token's `exp` (unix seconds); None: no expiry. Not part of equality: the same
    # caller with a refreshed token is the same identity (HTTP keeps its session).
    expires_at: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class UpstreamCredential:
    """What the plugin presents upstream; comes from the core, never from the agent."""

    username: str = ""
    password: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class Command:
    """One thing the client asks the upstream to do, in protocol-neutral form.

    `operation` names the wire operation ("query", "parse", "copy", "init_db",
    "prepare", "request" …); `text` is the SQL or the HTTP request line; `dialect`
    tells the classifier how to parse it ("postgres", "mysql", or "" for none).
    `attributes` carries protocol facts the policy may match on (HTTP method/path).
    """

    operation: str
    text: str
    dialect: str = ""
    database: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


class Action(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer for one command; every decision names its rule."""

    action: Action
    rule: str
    reason: str = ""
    command_id: str = ""
    max_rows: int | None = None
    kind: str = "unknown"
    flags: frozenset[str] = frozenset()
    review_id: str = ""  # set when a reviewer decided (or a grant applied)
    approved_by: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.action is Action.ALLOW


@dataclass(frozen=True, slots=True)
class HoldNotice:
    """A command is held for review; plugins that can, tell the client at once."""

    review_id: str
    url: str
    message: str


HoldCallback = Callable[[HoldNotice], None]


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """A result column as the protocol reports it; source fields are empty when unknown."""

    name: str
    type_name: str = ""
    source_table: str = ""  # resolved "schema.table" or "table", "" if derived
    source_column: str = ""
    table_oid: int = 0  # PostgreSQL RowDescription table OID, 0 if none
    column_number: int = 0  # PostgreSQL attnum, 0 if none
    binary: bool = False


@dataclass(frozen=True, slots=True)
class ColumnMask:
    """How to rewrite one column's values; `strategy` is redact|partial|hash|null.

    `keep` is the tail `partial` leaves visible.
    """

    index: int
    rule: str
    strategy: str
    keep: int = 4


class ValueMasker(Protocol):
    """Core-built value rewriting for one command; the plugin calls it per value.

    The plugin decodes a value into its logical form, calls the method for that
    form and encodes the answer back in the column's wire format and type; None
    means "send NULL". Every call counts a masked value under the mask's rule.
    """

    def text(self, mask: ColumnMask, value: str) -> str | None: ...

    def data(self, mask: ColumnMask, value: bytes) -> bytes | None: ...

    def integer(self, mask: ColumnMask, value: int, bits: int) -> int | None:
        """A stable integer in [0, 2**(bits-1)) for `hash`; None for other strategies."""
        ...

    def scan(self, value: str, structured: bool = False) -> str | None:
        """Value detectors: `value` itself when clean, the rewritten text, or None (NULL).

        `structured` (JSON, array text): a match that spans syntax nulls the value.
        """
        ...

    def message(self, text: str) -> str:
        """Server text that can echo data: error/notice fields, notification payloads."""
        ...

    # -- documents (HTTP bodies): field paths, findings, text that arrives in pieces --

    def field(self, path: tuple[str | int, ...]) -> ColumnMask | None:
        """The mask a `fields` rule gives the value at `path` (keys and array indexes
        from the document's root) or at one of its ancestors; None when none does."""
        ...

    def detect(self, value: str) -> tuple[str, ...]:
        """Names of the detectors that find something in `value`; counts nothing."""
        ...

    def hold(self, text: str) -> int:
        """For text that arrives in pieces: the index from which `text` must be held
        back, since a detector match may be forming at its end (or straddles that
        point); `len(text)` when all of it may be released (through `scan`)."""
        ...


@dataclass(frozen=True, slots=True)
class MaskingPlan:
    """Per-result-shape masking decisions; an empty plan means pass rows through.

    `masker` is set whenever masking is configured for the session (even with
    nothing to rewrite in this shape: it scrubs messages). `withhold` is a reason
    to send no rows at all (fail closed), rendered by the plugin as an error.
    The session's plan for free text (`masking_plan("", ())`) says in `detectors`
    and `fields` whether value detectors and field-path rules are configured.
    """

    columns: tuple[ColumnMask, ...] = ()
    detectors: bool = False
    masker: ValueMasker | None = None
    withhold: str = ""
    fields: bool = False

    @property
    def empty(self) -> bool:
        return not self.columns and not self.detectors and not self.withhold

    @property
    def active(self) -> bool:
        """Masking is configured: undescribed results fail closed, messages are scrubbed."""
        return self.masker is not None


NO_MASKING = MaskingPlan()


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    """A column of a table or view as the upstream's catalog describes it."""

    schema: str
    table: str
    name: str
    type_name: str = ""
    position: int = 0


@dataclass(frozen=True, slots=True)
class CatalogFunction:
    """A function defined in the database; `volatility` is immutable|stable|volatile."""

    schema: str
    name: str
    volatility: str


@dataclass(frozen=True, slots=True)
class CatalogView:
    """A view and the SQL that defines it (for lineage through views)."""

    schema: str
    name: str
    definition: str


@dataclass(frozen=True, slots=True)
class CatalogSnapshot:
    """What the policy and the masker need to know about an upstream database.

    Read by the plugin (it owns the wire and the dialect's catalog queries), cached
    and invalidated by the core. `table_oids` maps PostgreSQL table OIDs to
    (schema, table); other protocols leave it empty.
    """

    columns: tuple[CatalogColumn, ...] = ()
    functions: tuple[CatalogFunction, ...] = ()
    views: tuple[CatalogView, ...] = ()
    table_oids: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    taken_at: float = 0.0


class CatalogReader(Protocol):
    """Optional on a `ProtocolListener`: read the upstream catalog with a credential.

    The core calls it off the hot path (at session open, on a timer, after DDL) and
    must treat a failure as "catalog unknown" — the safe outcome wins.
    """

    async def read_catalog(
        self, credential: UpstreamCredential, database: str
    ) -> CatalogSnapshot: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a command ended, reported once per command after its result."""

    command_id: str
    rows: int = 0
    bytes_out: int = 0
    error: str = ""
    status: str = ""  # protocol completion tag, e.g. "SELECT 3"


class GateError(Exception):
    """Base for refusals the core hands a plugin; the plugin renders them on its wire."""

    category = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationFailed(GateError):
    category = "authentication"


class AccessDenied(GateError):
    category = "authorization"


class UpstreamUnavailable(GateError):
    category = "upstream"


class Session(Protocol):
    """One authenticated client session on one resource."""

    @property
    def id(self) -> str: ...

    @property
    def identity(self) -> Identity: ...

    @property
    def credential(self) -> UpstreamCredential: ...

    @property
    def ends_at(self) -> float | None:
        """When the session must end (unix seconds), or None.

        Set when `identity.end_sessions_at_expiry` is on and the identity's token
        expires: the plugin ends the connection at that moment with a clear error
        (PostgreSQL FATAL 28000, MySQL ERR 1927 when idle, HTTP a cut response or a
        WebSocket Close 1008) whatever it is doing.
        """
        ...

    async def decide(self, command: Command, on_hold: HoldCallback | None = None) -> Decision:
        """Decide one command. May wait for a review (calling `on_hold` first).

        Never raises for policy reasons. Cancelling the call (the client went away)
        cancels a pending review.
        """
        ...

    def decide_now(self, command: Command) -> Decision | None:
        """`decide`, when deciding needs no waiting; else None and nothing happened.

        None means: call `decide` (a review hold, a catalog read or a masking check
        is needed). A relay's fast lane for the common case uses this to skip the
        coroutine machinery; the decision, its counting, log line and audit are the
        same as `decide`'s.
        """
        ...

    def masking_plan(self, command_id: str, columns: Sequence[ResultColumn]) -> MaskingPlan:
        """The masking plan for a result shape of the given command.

        Computed once per shape and cached; cheap to call per result. `command_id`
        "" asks for the session's plan for messages (errors, notices, notifications),
        documents (HTTP bodies) and results nothing described (`active` then means:
        fail closed).
        """
        ...

    def record(self, direction: Direction, frame: bytes) -> None:
        """Tap a frame (as the client saw it) for byte counters and recording."""
        ...

    async def report(self, outcome: Outcome) -> None:
        """Report the end of a command; durable before the caller releases the result."""
        ...

    def report_now(self, outcome: Outcome) -> bool:
        """`report`, when reporting needs no waiting; else False and nothing happened.

        True: reported, exactly as `report` would (it raises what `report` raises).
        False: await `report` instead. A relay's fast lane for results uses this to
        skip the coroutine machinery, as `decide_now` does for commands.
        """
        ...

    def event(self, name: str, **fields: Any) -> None:
        """Record a protocol event worth evidence (refused message, cancel, …)."""
        ...

    async def close(self, reason: str = "") -> None: ...


class Gate(Protocol):
    """What the core offers a protocol plugin for one listener (one resource)."""

    @property
    def resource(self) -> str: ...

    async def authenticate(self, credential: PresentedCredential, client: ClientInfo) -> Identity:
        """Verify a presented credential; raises AuthenticationFailed."""
        ...

    async def open_session(self, identity: Identity, client: ClientInfo, database: str) -> Session:
        """Authorize the identity for this resource and lease the upstream credential.

        Raises AccessDenied or UpstreamUnavailable; nothing upstream is opened yet.
        """
        ...

    def refuse(self, client: ClientInfo, reason: str, category: str = "protocol") -> None:
        """Count and log a refusal that happened before any session existed."""
        ...

    def allows_database(self, database: str) -> bool:
        """Whether a client may ask for this database name on this resource."""
        ...


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps the core configures for every listener."""

    max_message_bytes: int = 64 * 1024 * 1024
    handshake_timeout: float = 30.0
    connect_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class ListenerContext:
    """What a plugin gets for one configured resource."""

    resource: str
    upstream: Any  # an instance of the plugin's `upstream_settings` type
    gate: Gate
    server_tls: ssl.SSLContext | None = None
    tls_required: bool = False
    limits: Limits = Limits()
    listen_host: str = ""  # the address the listener binds (loopback-only listeners)

    @property
    def loopback_listener(self) -> bool:
        """True when the listener binds only a loopback address."""
        host = self.listen_host.strip("[]")
        return host in ("localhost", "::1") or host.startswith("127.")


@runtime_checkable
class ConnectionHandler(Protocol):
    """Serves one client connection on a listener; the core owns the socket lifecycle."""

    async def __call__(self, reader: Any, writer: Any) -> None: ...


class ProtocolListener(Protocol):
    """A plugin's per-resource state (cancel-key maps, pools …)."""

    async def handle(self, reader: Any, writer: Any) -> None:
        """Serve one accepted connection until it ends. Must not raise."""
        ...

    async def drain(self) -> None:
        """Stop starting new commands; let in-flight ones finish (graceful shutdown)."""
        ...


class StartableListener(ProtocolListener, Protocol):
    """A listener with set-up to do before the first connection (optional).

    The core awaits `start()` once, before binding the socket; an exception stops
    the gateway from starting (the error names the resource).
    """

    async def start(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One frame of a session recording, `offset` seconds after the session began."""

    offset: float
    direction: Direction
    data: bytes


class RecordingReplayer(Protocol):
    """Optional on a `ProtocolPlugin`: `wardgate replay ID --serve ADDR`.

    Serve one client connection from a recording: do the protocol's start-up
    without authentication, then answer each client request with the recorded
    server frames of the next exchange, so the client sees exactly what the agent saw.
    """

    async def serve_recording(
        self, frames: Sequence[RecordedFrame], reader: Any, writer: Any
    ) -> None: ...


class ProtocolPlugin(Protocol):
    """What the ``wardgate.protocols`` entry point resolves to."""

    name: str
    dialect: str
    default_port: int
    # A dataclass type; the core validates `resources[].upstream` into it.
    upstream_settings: type[Any]

    def create_listener(self, context: ListenerContext) -> ProtocolListener: ...
