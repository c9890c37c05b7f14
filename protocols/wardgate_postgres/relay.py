"""The relay: two pumps between an authenticated client and its upstream backend.

Client → server: frames are split (bounded by the size limit) and decoded by type;
CopyData passes undecoded. Every SQL-bearing message (Query, Parse) is put to the
gate before it is forwarded; a refused one is replaced by a substitute that fails
at parse time (see tracker). FunctionCall is always refused. Extended-protocol
decisions are stored per prepared statement and enforced again at Bind, so a
portal can never run a statement the gate did not allow.

Server → client: frames are split and classified by type byte only; DataRows are
counted (and masked once a plan asks for it), completions close commands in the
tracker, and every finished command is reported to the gate *before* the bytes
that end it are written to the client. Writes drain before the next upstream
read, so a slow client pushes back on the server instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from wardgate.eager import eager
from wardgate.endpoint import Endpoint, take_over
from wardgate.expiry import schedule_expiry
from wardgate.seam import (
    Action,
    Command,
    Decision,
    Direction,
    GateError,
    HoldNotice,
    Outcome,
    Session,
)
from wardgate_postgres import sqlstate
from wardgate_postgres.codec import (
    Bind,
    Close,
    ErrorResponse,
    Execute,
    Frame,
    FrameSplitter,
    FrameTooLarge,
    FunctionCall,
    ParameterStatus,
    Parse,
    PasswordMessage,
    ProtocolViolation,
    Query,
    Sync,
    Terminate,
    UnknownMessage,
    complete_tag,
    decode_backend,
    decode_frontend,
    frontend_name,
    plain_tag,
    ready_status,
)
from wardgate_postgres.frames import error, fatal, notice
from wardgate_postgres.masking import ResultMasking
from wardgate_postgres.tracker import (
    EXECUTE,
    QUERY,
    REFUSED,
    SYNC,
    Pending,
    ResponseTracker,
    RowBudget,
)

DIALECT = "postgres"

_DATA_ROW = ord("D")
_COPY_DATA = ord("d")
_COMMAND_COMPLETE = ord("C")
_EMPTY_QUERY = ord("I")
_PORTAL_SUSPENDED = ord("s")
_ERROR = ord("E")
_READY = ord("Z")
_PARAMETER_STATUS = ord("S")
#: Frontend messages that go to the gate for a decision (`_route_frames` awaits them).
_DECIDED = (Query, Parse)
_ROW_FRAMES = (_DATA_ROW, _COPY_DATA)  # a COPY TO STDOUT row counts like a DataRow
_STATUSES = frozenset(b"ITE")  # ReadyForQuery: idle, in a transaction, failed
#: What `_track` looks at; every other backend frame passes as it is.
_TRACKED = frozenset(
    (_COMMAND_COMPLETE, _EMPTY_QUERY, _PORTAL_SUSPENDED, _ERROR, _READY, _PARAMETER_STATUS)
)
#: Command attribute value: the server may lex with either value (classify both ways).
EITHER = "either"
STANDARD_STRINGS = "standard_conforming_strings"
#: A command's attributes per setting value, shared and read-only (the classifier
#: remembers the answer for the last read-only mapping it was asked about).
_ATTRIBUTES: dict[str, Mapping[str, str]] = {}


class ClientGone(Exception):
    pass


class Relay:
    def __init__(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
        session: Session,
        database: str,
        max_message_bytes: int,
        status: str = "I",
        on_idle: Callable[[], None] | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self._client = Endpoint(
            client_reader,
            client_writer,
            self._client_data,
            self._client_lost,
        )
        self._upstream = Endpoint(
            upstream_reader,
            upstream_writer,
            self._server_data,
            self._upstream_lost,
        )
        self._client.pair(self._upstream)  # back-pressure both ways
        self._session = session
        self._database = database
        self._max = max_message_bytes
        self.tracker = ResponseTracker()
        self.tracker.transaction_status = status
        # None unless masking is configured: the row path then costs one None test.
        self._masking = ResultMasking.for_session(session, self.tracker)
        self._statements: dict[str, Decision] = {}
        self._portals: dict[str, Decision] = {}
        self._budgets: dict[str, RowBudget] = {}  # max_rows across a portal's Executes
        # The server's lexing setting, from the greeting and every ParameterStatus.
        self._standard_strings = (parameters or {}).get(STANDARD_STRINGS, "on")
        self._client_frames = FrameSplitter(self._max)
        self._server_frames = FrameSplitter(max(self._max, 1 << 30))
        self._draining = False
        self._closing = asyncio.Event()
        self._closed = False  # `_closing.is_set()` without a Python call (per read)
        self.end_reason = ""
        self.cut = False  # ended by cancellation with a command or transaction open
        self._deciding = False  # a decision (maybe a review hold) is pending: not idle
        # A side whose last read is still being handled (it had to wait: a review hold)
        # keeps what arrives meanwhile, in order, for when it is done.
        self._client_busy: asyncio.Task[None] | None = None
        self._server_busy: asyncio.Task[None] | None = None
        self._client_backlog = bytearray()
        self._server_backlog = bytearray()
        self._upstream_gone = False

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> str:
        """Relay until either side ends; returns why it ended."""
        expiry = schedule_expiry(self._session.ends_at, self._expired)
        try:
            take_over(self._upstream, self._client)
            await self._closing.wait()
        except asyncio.CancelledError:
            self.cut = not self.tracker.idle
            self._send_client(
                fatal(
                    sqlstate.ADMIN_SHUTDOWN,
                    "terminating connection: wardgate is shutting down and the grace period "
                    "ended before this session's command or transaction did",
                )
            )
            self.end_reason = self.end_reason or "cut at shutdown deadline"
            raise
        finally:
            if expiry is not None:
                expiry.cancel()
            busy = [f for f in (self._client_busy, self._server_busy) if f is not None]
            for future in busy:
                future.cancel()
            self._log_failures(await asyncio.gather(*busy, return_exceptions=True))
            self._client.detach()
            self._upstream.detach()
            for outcome in self.tracker.abandon(self.end_reason or "connection closed"):
                with contextlib.suppress(Exception):
                    await self._session.report(outcome)
        return self.end_reason

    def _log_failures(self, results: Sequence[object]) -> None:
        """A handler that died of a bug ends the session; say so instead of ending silently."""
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                self._session.event("relay_error", level="error", error=repr(result))
                self.end_reason = self.end_reason or f"internal error: {type(result).__name__}"

    def _settled(self, future: asyncio.Future[None]) -> None:
        """A read's handling finished in its task: a bug in it ends the session."""
        if not future.cancelled() and future.exception() is not None:
            self._failed(future.exception())

    def _failed(self, exc: BaseException | None) -> None:
        self._log_failures([exc])
        self._finish(self.end_reason or "internal error")

    def drain(self) -> None:
        """Graceful shutdown: end now if idle, else after the current command."""
        self._draining = True
        if self.tracker.idle and not self._deciding:
            self._shutdown_client()

    def _expired(self) -> None:
        """The identity's token expired (`identity.end_sessions_at_expiry`): end now,
        in the middle of a result if need be (a FATAL may follow any whole message)."""
        if self._closing.is_set():
            return
        self.cut = not self.tracker.idle
        self._send_client(
            fatal(
                sqlstate.INVALID_AUTHORIZATION_SPECIFICATION,
                "terminating connection: the identity token that opened this session "
                "expired; connect again with a fresh token",
            )
        )
        self._finish("token expired")

    def _shutdown_client(self) -> None:
        self._send_client(
            fatal(sqlstate.ADMIN_SHUTDOWN, "terminating connection: wardgate is shutting down")
        )
        self._finish("gateway shutdown")

    def _finish(self, reason: str) -> None:
        self.end_reason = self.end_reason or reason
        self._closed = True
        self._closing.set()

    def _send_client(self, data: bytes) -> None:
        if self._client.write(data):
            self._session.record(Direction.SERVER_TO_CLIENT, data)

    # -- client → server -------------------------------------------------------------

    def _client_data(self, data: bytes) -> None:
        if self._closed:
            return
        if self._client_busy is not None:  # e.g. held for review: keep what it pipelines
            self._client_backlog += data
            if len(self._client_backlog) > self._max:
                self._client.pause("backlog")
            return
        try:
            if data[:1] == b"Q" and self._query_lane(data):
                return
            handling = eager(self._from_client(data))
        except Exception as exc:  # a bug: end the session and say why
            return self._failed(exc)
        if handling is not None:  # it waits (a review hold): later reads queue up
            self._client_busy = handling
            handling.add_done_callback(self._client_handled)

    def _query_lane(self, data: bytes) -> bool:
        """The common case in one step: the read is one whole simple Query, decided now.

        False (nothing done) for anything else — a partial or pipelined read, masking
        on, text that is not one NUL-terminated UTF-8 string, a decision that has to
        wait — and the general path takes the read, with the same result.
        """
        size = len(data)
        if (
            self._masking is not None
            or self._client_frames.buffered()
            or size < 6
            or int.from_bytes(data[1:5], "big") != size - 1
            or size - 1 > self._max
            or data.find(b"\0", 5) != size - 1
        ):
            return False
        try:
            sql = data[5:-1].decode("utf-8")
        except UnicodeDecodeError:
            return False
        decision = self._session.decide_now(self._command("query", sql))
        if decision is None:
            return False
        if decision.action is Action.ALLOW:  # (`allowed` is a property: a call)
            self._expect_result(QUERY, decision)
        else:
            data = self._refuse_simple(decision.command_id, _refusal_text(decision), decision)
        self._session.record(Direction.CLIENT_TO_SERVER, data)
        self._upstream.write(data)
        return True

    def _client_handled(self, future: asyncio.Future[None]) -> None:
        self._client_busy = None
        self._settled(future)
        backlog, self._client_backlog = bytes(self._client_backlog), bytearray()
        self._client.resume("backlog")
        if backlog and not self._closing.is_set():
            self._client_data(backlog)

    def _client_lost(self, exc: Exception | None) -> None:
        if self._client_busy is not None and self._deciding:
            self._finish("client disconnected while its command was held for review")
            self._client_busy.cancel()  # cancels the review
        self._finish("client disconnected")

    async def _from_client(self, data: bytes) -> None:
        try:
            frames = self._client_frames.feed(data)
            outgoing = await self._route_frames(frames)
        except FrameTooLarge as exc:
            return self._protocol_error(
                sqlstate.PROGRAM_LIMIT_EXCEEDED,
                f"message of {exc.declared} bytes exceeds wardgate's limit of {exc.limit}",
            )
        except UnknownMessage as exc:
            return self._protocol_error(sqlstate.PROTOCOL_VIOLATION, str(exc))
        except ProtocolViolation as exc:
            return self._protocol_error(exc.sqlstate, f"invalid message: {exc}")
        if outgoing:
            self._to_upstream(outgoing)

    def _to_upstream(self, chunks: list[bytes]) -> None:
        data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        self._session.record(Direction.CLIENT_TO_SERVER, data)
        self._upstream.write(data)

    def _protocol_error(self, code: str, message: str) -> None:
        self._session.event("protocol_error", level="warning", reason=message)
        self._send_client(fatal(code, message))
        self._finish(f"protocol error: {message}")

    async def _route_frames(self, frames: list[Frame]) -> list[bytes]:
        outgoing: list[bytes] = []
        for frame in frames:
            if frame.type == _COPY_DATA:
                outgoing.append(frame.raw)
                continue
            message = decode_frontend(frame)
            if isinstance(message, _DECIDED):  # a decision, which may wait (a review)
                if outgoing:
                    self._to_upstream(outgoing)  # forward what precedes it meanwhile
                    outgoing = []
                if isinstance(message, Query):
                    replacement: bytes | None = await self._query(message)
                else:
                    replacement = await self._parse(message)
            else:
                if isinstance(message, FunctionCall) and outgoing:
                    self._to_upstream(outgoing)
                    outgoing = []
                replacement = self._route(message)
            if replacement is not None:
                outgoing.append(replacement)
                if self._masking is not None:
                    self._masking.client(message)  # which result shape answers what
            if isinstance(message, Terminate):
                self._finish("client terminated")
                break
        return outgoing

    def _route(self, message: object) -> bytes | None:
        """Every message but Query and Parse: nothing here waits."""
        if isinstance(message, Bind):
            return self._bind(message)
        if isinstance(message, Execute):
            decision = self._portals.get(message.portal)
            if decision is None:  # a cursor DECLAREd in SQL (decided there)
                self.tracker.expect(EXECUTE, may_reconfigure=True)
            else:
                self._expect_result(EXECUTE, decision, self._budgets.get(message.portal))
        elif isinstance(message, Sync):
            self.tracker.expect(SYNC)
        elif isinstance(message, Close):
            self._forget(message)
        elif isinstance(message, FunctionCall):
            return self._refuse_simple("", "FunctionCall messages are refused by wardgate")
        elif isinstance(message, PasswordMessage):
            raise UnknownMessage(ord("p"), "session")
        return message.raw  # type: ignore[attr-defined, no-any-return]

    def _command(self, operation: str, sql: str) -> Command:
        # Behind a command that may still change standard_conforming_strings (its
        # ParameterStatus not seen yet), the server may lex either way: say so.
        settings = EITHER if self.tracker.unsettled else self._standard_strings
        attributes = _ATTRIBUTES.get(settings)
        if attributes is None:
            attributes = MappingProxyType({STANDARD_STRINGS: settings})
            if len(_ATTRIBUTES) < 16:  # the server reports on, off (or garbage, bounded)
                _ATTRIBUTES[settings] = attributes
        return Command(operation, sql, DIALECT, self._database, attributes)

    async def _decide(self, operation: str, sql: str) -> Decision:
        command = self._command(operation, sql)
        decided = self._session.decide_now(command)  # the usual case: nothing to wait for
        if decided is not None:
            return decided
        self._deciding = True
        try:
            return await self._session.decide(command, on_hold=self._on_hold)
        finally:
            self._deciding = False

    # -- held for review -----------------------------------------------------------------

    def _on_hold(self, hold: HoldNotice) -> None:
        """Tell the client where to get the command approved.

        The client is still read meanwhile (into the backlog), so its disconnect is
        seen and cancels the review (`_client_lost`).
        """
        self._send_client(notice(hold.message, detail=hold.url))

    async def _query(self, message: Query) -> bytes:
        decision = await self._decide("query", message.sql)
        if not decision.allowed:
            return self._refuse_simple(decision.command_id, _refusal_text(decision), decision)
        self._expect_result(QUERY, decision)
        return message.raw

    def _expect_result(
        self, kind: str, decision: Decision, budget: RowBudget | None = None
    ) -> None:
        limit = decision.max_rows
        frame = b""
        if limit is not None:
            budget = budget or RowBudget(limit)
            frame = error(
                sqlstate.PROGRAM_LIMIT_EXCEEDED,
                f'wardgate: result exceeds the {limit}-row limit of rule "{decision.rule}"; '
                f"the first {limit} rows were sent, the rest withheld",
                hint="narrow the query or add LIMIT",
            )
        self.tracker.expect(
            kind,
            decision.command_id,
            budget=budget,
            limit_error=frame,
            may_reconfigure=decision.kind != "read",
        )

    async def _parse(self, message: Parse) -> bytes:
        decision = await self._decide("parse", message.query)
        self._statements[message.name] = decision
        if not decision.allowed:
            return self._refuse_extended(decision.command_id, _refusal_text(decision), decision)
        return message.raw

    def _bind(self, message: Bind) -> bytes:
        """Refuse a portal over a refused or unknown statement (reported once, at Parse)."""
        decision = self._statements.get(message.statement)
        if decision is None or not decision.allowed:
            self._portals.pop(message.portal, None)
            reason = _refusal_text(decision) if decision else "statement was never prepared"
            self.tracker.expect(REFUSED, "", self._refusal_frame(reason, decision))
            return self._substitute_parse()
        self._portals[message.portal] = decision
        if decision.max_rows is not None:
            self._budgets[message.portal] = RowBudget(decision.max_rows)
        else:
            self._budgets.pop(message.portal, None)
        return message.raw

    def _forget(self, message: Close) -> None:
        if message.kind == "S":
            self._statements.pop(message.name, None)
        else:
            self._portals.pop(message.name, None)
            self._budgets.pop(message.name, None)

    def _refusal_frame(self, reason: str, decision: Decision | None) -> bytes:
        hint = f"rule: {decision.rule}" if decision is not None else None
        return error(sqlstate.INSUFFICIENT_PRIVILEGE, reason, hint=hint)

    def _refuse_simple(
        self, command_id: str, reason: str, decision: Decision | None = None
    ) -> bytes:
        self._session.event("refused", command_id=command_id, reason=reason)
        self.tracker.expect(QUERY, command_id, self._refusal_frame(reason, decision))
        return Query.build(self.tracker.substitute_sql).raw

    def _refuse_extended(
        self, command_id: str, reason: str, decision: Decision | None = None
    ) -> bytes:
        self._session.event("refused", command_id=command_id, reason=reason)
        self.tracker.expect(REFUSED, command_id, self._refusal_frame(reason, decision))
        return self._substitute_parse()

    def _substitute_parse(self) -> bytes:
        """A Parse that fails at parse time into a statement name no client can use."""
        name = f"wardgate_{self.tracker.nonce}"
        return Parse.build(name, self.tracker.substitute_sql, ()).raw

    # -- server → client -------------------------------------------------------------

    def _server_data(self, data: bytes) -> None:
        if self._closed:
            return
        if self._server_busy is not None:  # a report is still being written: keep order
            self._server_backlog += data
            self._upstream.pause("busy")
            return
        try:
            scanned = self._read_server(data)
            if scanned is None:
                return
            handling = self._deliver_now(*scanned)
        except Exception as exc:
            return self._failed(exc)
        if handling is not None:  # a report waits: later reads queue behind it
            self._server_busy = handling
            handling.add_done_callback(self._server_handled)

    def _server_handled(self, future: asyncio.Future[None]) -> None:
        self._server_busy = None
        self._settled(future)
        backlog, self._server_backlog = bytes(self._server_backlog), bytearray()
        self._upstream.resume("busy")
        if backlog and not self._closing.is_set():
            self._server_data(backlog)
        if self._upstream_gone and self._server_busy is None:
            self._upstream_lost(None)

    def _upstream_lost(self, exc: Exception | None) -> None:
        if self._server_busy is not None:  # deliver what came before the end first
            self._upstream_gone = True
            return
        if self._closing.is_set():
            return
        self._send_client(
            fatal(sqlstate.CONNECTION_FAILURE, "the upstream server closed the connection")
        )
        self._finish("upstream disconnected")

    def _read_server(self, data: bytes) -> tuple[bytes, list[Outcome]] | None:
        """The bytes to forward and the commands the read finished; None if it broke
        the protocol (the session is then ending and the client told why)."""
        try:
            if self._masking is None and not self.tracker.budgeted:
                return self._scan(data)
            chunks, outcomes = self._inspect(self._server_frames.feed(data))
            return b"".join(chunks), outcomes
        except ProtocolViolation as exc:
            self._session.event("upstream_protocol_error", level="error", reason=str(exc))
            self._send_client(
                fatal(sqlstate.PROTOCOL_VIOLATION, "invalid message from the upstream server")
            )
            self._finish("upstream protocol error")
            return None

    def _deliver_now(self, sent: bytes, outcomes: list[Outcome]) -> asyncio.Task[None] | None:
        """Report what finished, then forward the read: inline while `report_now` can,
        else the rest in a task (returned) so the result still follows its report."""
        try:
            for index, outcome in enumerate(outcomes):
                if outcome.command_id and not self._session.report_now(outcome):
                    return eager(self._deliver(sent, outcomes[index:]))
        except GateError as exc:  # the outcome could not be audited: withhold the result
            self._withhold_unaudited(exc)
            return None
        self._forward(sent)
        return None

    async def _deliver(self, sent: bytes, outcomes: list[Outcome]) -> None:
        try:
            for outcome in outcomes:
                if outcome.command_id:  # portals over refused statements: reported at Parse
                    await self._session.report(outcome)
        except GateError as exc:
            self._withhold_unaudited(exc)
            return
        self._forward(sent)

    def _forward(self, sent: bytes) -> None:
        if sent:
            self._send_client(sent)
        if self._draining and self.tracker.idle:
            self._shutdown_client()

    def _scan(self, data: bytes) -> tuple[bytes, list[Outcome]]:
        """`_inspect` for a session with no masking and no row limit in flight.

        The read is forwarded as it came: rows are only counted, and only the frames
        the tracker needs (completions, errors, ReadyForQuery, ParameterStatus) become
        `Frame`s. An error swapped for a refusal is the one place bytes change.
        """
        buf, starts = self._server_frames.feed_starts(data)
        outcomes: list[Outcome] = []
        if not starts:
            return buf, outcomes
        tracker = self.tracker
        ends = starts[1:]
        ends.append(len(buf))
        rows = size = last = 0
        pieces: list[bytes] | None = None
        for start, end in zip(starts, ends, strict=True):
            kind = buf[start]
            if kind in _ROW_FRAMES:
                rows += 1
                size += end - start
            elif kind in _TRACKED:
                if rows:
                    tracker.on_rows(rows, size)
                    rows = size = 0
                if kind == _READY and end - start == 6 and buf[start + 5] in _STATUSES:
                    outcomes += tracker.on_ready(chr(buf[start + 5]))  # ready_status, inline
                    continue
                if kind == _COMMAND_COMPLETE:  # as `_track` does, without a Frame
                    tag = plain_tag(buf[start + 5 : end])
                    if tag is not None:
                        outcomes += tracker.on_complete(tag)
                        continue
                frame = Frame.from_raw(buf[start:end])
                sent = self._track(frame, outcomes)
                if sent is not frame.raw:
                    pieces = pieces if pieces is not None else []
                    pieces += (buf[last:start], sent)
                    last = end
        if rows:
            tracker.on_rows(rows, size)
        if pieces is not None:
            pieces.append(buf[last:])
            buf = b"".join(pieces)
        return buf, outcomes

    def _withhold_unaudited(self, exc: GateError) -> None:
        """`report` refused (the audit log is unavailable): FATAL instead of the result."""
        self._session.event("result_withheld", level="error", reason=exc.message)
        self._send_client(
            fatal(
                sqlstate.SYSTEM_ERROR,
                "wardgate: the audit log is unavailable, so the result of this command "
                "was withheld; the connection is closed",
                detail=exc.message,
            )
        )
        self._finish("result withheld: audit unavailable")

    def _inspect(self, frames: list[Frame]) -> tuple[list[bytes], list[Outcome]]:
        tracker, masking = self.tracker, self._masking
        chunks: list[bytes] = []
        outcomes: list[Outcome] = []
        for frame in frames:
            kind = frame.type
            if kind in _ROW_FRAMES:
                if tracker.on_row(len(frame.raw)):
                    chunks.append(frame.raw if masking is None else masking.row(frame))
                continue
            limited = tracker.over_limit()
            if limited is not None:
                self._withhold(frame, limited, chunks, outcomes)
                if masking is not None:
                    masking.server(frame, b"")  # follow the shapes; nothing more is sent
                continue
            sent = self._track(frame, outcomes)
            chunks.append(sent if masking is None else masking.server(frame, sent))
        return chunks, outcomes

    def _track(self, frame: Frame, outcomes: list[Outcome]) -> bytes:
        """Update the tracker for one non-row frame; returns the bytes to send."""
        tracker, kind = self.tracker, frame.type
        if kind == _COMMAND_COMPLETE:
            outcomes += tracker.on_complete(complete_tag(frame))
        elif kind in (_EMPTY_QUERY, _PORTAL_SUSPENDED):
            outcomes += tracker.on_complete("")
        elif kind == _ERROR:
            message = decode_backend(frame)
            assert isinstance(message, ErrorResponse)
            replacement, finished = tracker.on_error(message.message)
            outcomes += finished
            return replacement or frame.raw
        elif kind == _READY:
            outcomes += tracker.on_ready(ready_status(frame))
        elif kind == _PARAMETER_STATUS:
            self._parameter(frame)
        return frame.raw

    def _parameter(self, frame: Frame) -> None:
        """Track the settings that decide how the server lexes the next statement."""
        message = decode_backend(frame)
        assert isinstance(message, ParameterStatus)
        if message.name == STANDARD_STRINGS:
            self._standard_strings = message.value

    def _withhold(
        self, frame: Frame, entry: Pending, chunks: list[bytes], outcomes: list[Outcome]
    ) -> None:
        """Past the row limit: drop the command's remaining output, end it with the error."""
        ends_execute = entry.kind == EXECUTE and frame.type in (
            _COMMAND_COMPLETE,
            _PORTAL_SUSPENDED,
            _ERROR,
        )
        if frame.type == _READY or ends_execute:
            self._session.event("max_rows_exceeded", command_id=entry.command_id, rows=entry.rows)
            chunks.append(entry.limit_error)
            entry.over_limit = False
            entry.budget = None  # the error is sent once; the tracker ends the command
            if frame.type == _READY:
                chunks.append(self._track(frame, outcomes))
            else:
                outcomes += self.tracker.on_complete("")


def _refusal_text(decision: Decision) -> str:
    reason = f": {decision.reason}" if decision.reason else ""
    return f'wardgate: {decision.action.value} by rule "{decision.rule}"{reason}'


__all__ = ["ClientGone", "Relay", "frontend_name"]
