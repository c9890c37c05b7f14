"""The command phase: decode each client command, ask the gate, relay the response.

Every client packet is decoded by command byte (`codec.commands`). SQL-bearing
commands (COM_QUERY, COM_STMT_PREPARE / EXECUTE, COM_INIT_DB, COM_FIELD_LIST,
COM_PROCESS_KILL) are decided by the session first; a refusal is an ERR 1142 naming
the rule and the connection stays usable. COM_CHANGE_USER (it would switch identity
behind the gateway's back), replication commands and anything unknown are refused
without reaching the upstream. Commands without SQL are forwarded as they are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wardgate.eager import eager
from wardgate.endpoint import Endpoint
from wardgate.seam import Command, Decision, Direction, HoldNotice, MaskingPlan, Outcome, Session
from wardgate_mysql.codec.commands import (
    ClientCommand,
    ComFieldList,
    ComInitDb,
    ComNumber,
    ComQuery,
    ComStatement,
    ComStmtExecute,
    ComStmtPrepare,
    decode_command,
)
from wardgate_mysql.codec.constants import Com, CursorType, Status
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.response_state import Phase, ResponseTracker
from wardgate_mysql.codec.resultset import ColumnDefinition41
from wardgate_mysql.masking import RowMasker
from wardgate_mysql.results import (
    ClientGone,
    ResponseRelay,
    ResponseSummary,
    UpstreamLost,
    err_payload,
    result_column,
)
from wardgate_mysql.stream import PacketStream, StreamClosed

REPLICATION = frozenset(
    {
        Com.BINLOG_DUMP,
        Com.BINLOG_DUMP_GTID,
        Com.REGISTER_SLAVE,
        Com.TABLE_DUMP,
        Com.CONNECT_OUT,
        Com.CLONE,
        Com.SUBSCRIBE_GROUP_REPLICATION_STREAM,
    }
)
FORWARD_SINGLE = frozenset(
    {Com.PING, Com.STATISTICS, Com.RESET_CONNECTION, Com.SET_OPTION, Com.STMT_RESET}
)
NO_RESPONSE = frozenset({Com.STMT_SEND_LONG_DATA, Com.STMT_CLOSE})
#: What a client may send while its command is held for review or its response is in
#: flight (MySQL clients wait for the answer, so normally nothing); past it the gateway
#: stops reading until the command is done.
HELD_INPUT_LIMIT = 1024 * 1024
USE_STATEMENT = re.compile(r"^\s*use\s+`?([^`;\s]+)`?\s*;?\s*$", re.IGNORECASE)


#: Command attribute value: the server may lex with either value (classify both ways).
EITHER = "either"


@dataclass(slots=True)
class Prepared:
    """What the gateway remembers of one prepared statement (by statement id)."""

    sql: str
    params: int = 0
    types: list[int] = field(default_factory=list)
    masker: RowMasker | None = None
    decision: Decision | None = None  # taken at COM_STMT_PREPARE
    rows_left: int | None = None  # max_rows budget of the open cursor (COM_STMT_FETCH)


class Relay:
    """Serves one client's commands over one upstream connection.

    After the handshake both transports are taken over (`Endpoint`): each read is
    handled in its `data_received` callback, and a command handler runs inline
    (`eager`) unless it really waits (a review hold). One command is in flight at a
    time, as MySQL clients expect: what the client sends meanwhile stays in its
    packet decoder, in order, until the response has ended; what the upstream sends
    is fed to the command's `ResponseRelay`. A full write buffer on one side pauses
    reading on the other.
    """

    def __init__(
        self,
        client: PacketStream,
        upstream: PacketStream,
        session: Session,
        caps: int,
        database: str,
        dialect: str = "mysql",
        status: int = Status.AUTOCOMMIT,
        allows_database: Callable[[str], bool] | None = None,
        ansi_quotes: str = EITHER,
    ) -> None:
        self.client, self.up, self.session = client, upstream, session
        self.caps, self.database, self.dialect = caps, database, dialect
        self.status = status  # the server's last status flags (NO_BACKSLASH_ESCAPES …)
        self.allows_database = allows_database or (lambda name: True)
        self.ansi_quotes = ansi_quotes  # from @@sql_mode; "either" once it may have changed
        self.statements: dict[int, Prepared] = {}
        self.draining = False
        self._client = Endpoint(
            client.reader,
            client.writer,
            self._client_data,
            self._client_lost,
            self._client_writable,
        )
        self._upstream = Endpoint(
            upstream.reader,
            upstream.writer,
            self._server_data,
            self._upstream_lost,
            self._upstream_writable,
        )
        self._response: ResponseRelay | None = None  # the command's response in flight
        # A handler or a response end that had to wait (a review hold, a slow report):
        # its side is not read on (the client's packets wait in its decoder) until done.
        self._client_busy: asyncio.Task[None] | None = None
        self._server_busy: asyncio.Task[None] | None = None
        self._deciding = False  # a decision (maybe a review hold) is pending
        self._upstream_gone = False
        self._closing = asyncio.Event()
        self._ended_by: BaseException | None = None  # why it ended, for the listener
        self.end_reason = ""
        self.handlers: dict[int, Callable[[ClientCommand], Awaitable[bool]]] = {
            Com.QUERY: self._query,
            Com.STMT_PREPARE: self._prepare,
            Com.STMT_EXECUTE: self._execute,
            Com.STMT_FETCH: self._fetch,
            Com.INIT_DB: self._init_db,
            Com.FIELD_LIST: self._field_list,
            Com.PROCESS_KILL: self._kill,
            Com.QUIT: self._quit,
            Com.CHANGE_USER: self._change_user,
        }

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> str:
        """Serve commands until the client quits; returns why it ended.

        What ended it abnormally is raised (as the streams' relay raised it): the
        listener turns it into the client's last ERR and the session's end reason.
        """
        try:
            self._attach()
            await self._closing.wait()
        finally:
            self._flush_client()
            busy = [t for t in (self._client_busy, self._server_busy) if t is not None]
            for task in busy:
                task.cancel()
            await asyncio.gather(*busy, return_exceptions=True)
            self._client.detach()
            self._upstream.detach()
        if self._ended_by is not None:
            raise self._ended_by
        return self.end_reason

    def _attach(self) -> None:
        """Take both transports over; handle what the handshake's streams had buffered."""
        upstream_buffered, upstream_ended = self._upstream.attach()
        client_buffered, client_ended = self._client.attach()
        if upstream_buffered:
            self._server_data(upstream_buffered)
        if upstream_ended:
            self._upstream_lost(None)
        self._client_data(client_buffered)  # the decoder may hold packets already
        if client_ended:
            self._client_lost(None)

    def drain(self) -> None:
        """Graceful shutdown: end now if idle, else once the current command is done."""
        self.draining = True
        self._serve_client()

    def _finish(self, reason: str) -> None:
        self.end_reason = self.end_reason or reason
        self._closing.set()

    def _fail(self, exc: BaseException | None) -> None:
        """End the relay; the listener answers the client according to `exc`."""
        if exc is None or isinstance(exc, asyncio.CancelledError) or self._closing.is_set():
            return
        self._ended_by = exc
        self._finish(f"{type(exc).__name__}: {exc}")

    def _settled(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    # -- flow control ------------------------------------------------------------------

    def _client_writable(self, writable: bool) -> None:
        """A slow client pushes back on the server instead of filling memory."""
        if writable:
            self._upstream.resume("client-writes")
        else:
            self._upstream.pause("client-writes")

    def _upstream_writable(self, writable: bool) -> None:
        if writable:
            self._client.resume("upstream-writes")
        else:
            self._client.pause("upstream-writes")

    # -- client → server -------------------------------------------------------------

    def _client_data(self, data: bytes) -> None:
        if self._closing.is_set():
            return
        try:
            if data:
                self._client.write(self.client.receive(data))
        except StreamClosed as exc:
            return self._fail(exc)
        self._serve_client()

    def _serve_client(self) -> None:
        """Handle the client's next commands, one at a time, while none is in flight."""
        client = self.client
        while not self._closing.is_set():
            if self._client_busy is not None or self._response is not None:
                if client.decoder.buffered > HELD_INPUT_LIMIT:
                    self._client.pause("backlog")  # read again once the command is done
                return
            self._client.resume("backlog")
            client.seq = 0
            try:
                packet = client.poll()
                if packet is None:
                    if self.draining:
                        self._finish("gateway shutdown")
                    return
                handling = eager(self._handle_packet(packet.payload))
            except Exception as exc:  # MySQLProtocolError, UpstreamLost, a bug
                return self._fail(exc)
            if handling is not None:  # it waits (a review hold): later packets wait too
                self._client_busy = handling
                handling.add_done_callback(self._client_handled)

    def _client_handled(self, task: asyncio.Future[None]) -> None:
        self._client_busy = None
        self._settled(task)
        self._serve_client()

    def _client_lost(self, exc: Exception | None) -> None:
        if self._closing.is_set():
            return
        if self._client_busy is not None and self._deciding:
            self._fail(StreamClosed("client disconnected while its command was held"))
            self._client_busy.cancel()  # cancels the review
        elif self._response is not None:
            self._fail(ClientGone("connection closed by peer"))
        else:
            self._fail(StreamClosed("connection closed by peer"))

    async def _handle_packet(self, payload: bytes) -> None:
        self.session.record(Direction.CLIENT_TO_SERVER, payload)
        if self.draining:
            self._error_to_client("ER_SERVER_SHUTDOWN", "wardgate is shutting down")
            return self._finish("gateway shutdown")
        if not await self.dispatch(decode_command(payload)):
            self._finish("client quit")

    # -- server → client -------------------------------------------------------------

    def _server_data(self, data: bytes) -> None:
        if self._closing.is_set():
            return
        try:
            self._upstream.write(self.up.receive(data))
        except StreamClosed as exc:
            return self._fail(UpstreamLost(f"upstream connection lost: {exc}"))
        self._serve_server()

    def _serve_server(self) -> None:
        """Feed the upstream's packets to the response in flight (left buffered if none)."""
        if self._closing.is_set() or self._response is None:
            return
        if self._server_busy is not None:  # a report is pending: keep the order
            self._upstream.pause("busy")
            return
        try:
            handling = eager(self._from_server())
        except Exception as exc:
            return self._fail(exc)
        if handling is not None:
            self._server_busy = handling
            self._upstream.pause("busy")
            handling.add_done_callback(self._server_handled)

    def _server_handled(self, task: asyncio.Future[None]) -> None:
        self._server_busy = None
        self._settled(task)
        self._upstream.resume("busy")
        self._serve_server()
        if self._upstream_gone and self._server_busy is None:
            self._upstream_lost(None)

    def _upstream_lost(self, exc: Exception | None) -> None:
        if self._server_busy is not None:  # deliver what came before the end first
            self._upstream_gone = True
            return
        self._fail(UpstreamLost("upstream connection lost: connection closed by peer"))

    async def _from_server(self) -> None:
        while (response := self._response) is not None and not self._closing.is_set():
            try:
                packet = self.up.poll()
            except MySQLProtocolError as exc:
                raise UpstreamLost(f"upstream protocol error: {exc.message}") from exc
            if packet is None:
                break
            out = response.feed(packet.payload)
            if response.done:
                await self._complete(response, out)
            elif out:
                self._to_client(out)
        self._flush_client()

    async def _complete(self, response: ResponseRelay, final: bytes) -> None:
        """The outcome is reported before the client sees the response's last packet."""
        self._flush_client()
        await response.report(response.summary)
        self._to_client(final)
        self._flush_client()
        self._response = None
        if response.then is not None:
            response.then(response.summary)
        self._serve_client()

    # -- writing -------------------------------------------------------------------------

    def _to_client(self, payload: bytes) -> None:
        self.session.record(Direction.SERVER_TO_CLIENT, payload)
        self.client.write(payload)

    def _flush_client(self) -> None:
        data = self.client.take_output()
        if data:
            self._client.write(data)

    def _error_to_client(self, name: str, message: str) -> None:
        self._to_client(err_payload(name, message))
        self._flush_client()

    def _forward(self, raw: bytes) -> None:
        """Send a command upstream (sequence ids restart at 0)."""
        self.up.seq = 0
        self._upload(raw)

    def _upload(self, payload: bytes) -> None:
        if not self._upstream.writable:
            raise UpstreamLost("upstream connection lost: connection closed by peer")
        self.up.write(payload)
        self._upstream.write(self.up.take_output())

    def _respond(
        self,
        tracker: ResponseTracker,
        plan_for: Callable[[list[ColumnDefinition41]], MaskingPlan],
        binary: bool,
        *,
        max_rows: int | None = None,
        masker: RowMasker | None = None,
        limit_rule: str = "",
        report: Callable[[ResponseSummary], Awaitable[None]] | None = None,
        then: Callable[[ResponseSummary], None] | None = None,
    ) -> ResponseRelay:
        """Expect the forwarded command's response; the upstream's reads feed it."""
        response = self._response = ResponseRelay(
            self.session,
            tracker,
            plan_for,
            binary,
            self._upload,
            max_rows,
            masker,
            limit_rule,
            report,
            then,
        )
        return response

    async def dispatch(self, command: ClientCommand) -> bool:
        handler = self.handlers.get(command.command)
        if handler is not None:
            return await handler(command)
        if command.command in FORWARD_SINGLE or command.command in NO_RESPONSE:
            return self._forward_plain(command)
        if command.command in REPLICATION:
            return self._refuse(
                command,
                "ER_SPECIFIC_ACCESS_DENIED_ERROR",
                "replication commands are refused by wardgate",
            )
        return self._refuse(command, "ER_UNKNOWN_COM_ERROR", "command not supported by wardgate")

    # -- SQL-bearing commands -------------------------------------------------------

    async def _query(self, command: ClientCommand) -> bool:
        assert isinstance(command, ComQuery)
        use = USE_STATEMENT.match(command.sql)
        if use and not self.allows_database(use.group(1)):
            return self._database_refused(use.group(1))
        sql = command.sql

        def then(summary: ResponseSummary) -> None:
            if not summary.error:
                self._track_use(sql)

        await self._decided("query", sql, command.raw, Phase.FIRST, then)
        return True

    async def _prepare(self, command: ClientCommand) -> bool:
        assert isinstance(command, ComStmtPrepare)
        decision = await self._decide(self._command("prepare", command.sql))
        if decision is None:
            return True  # refused: the server never sees it, so no statement id exists

        def then(summary: ResponseSummary) -> None:
            if summary.prepared is not None:
                ok = summary.prepared
                self.statements[ok.statement_id] = Prepared(
                    command.sql, ok.params, decision=decision
                )

        self._run(decision, command.raw, Phase.PREPARED, then=then)
        return True

    async def _execute(self, command: ClientCommand) -> bool:
        """Run a statement prepared through the gateway; decided again (a reload applies)."""
        assert isinstance(command, ComStmtExecute)
        statement = self.statements.get(command.statement_id)
        if statement is None or statement.decision is None or not statement.decision.allowed:
            self._error(
                "ER_UNKNOWN_STMT_HANDLER",
                f"Unknown prepared statement handler ({command.statement_id}) "
                "given to mysqld_stmt_execute",
            )
            return True
        decision = await self._decide(self._command("execute", statement.sql))
        if decision is None:
            return True
        cursor = bool(command.flags & (CursorType.READ_ONLY | CursorType.FOR_UPDATE))

        def then(summary: ResponseSummary) -> None:
            if summary.columns:
                statement.types = [c.type for c in summary.columns]
            statement.decision = decision  # the cursor's rows (COM_STMT_FETCH) fall under it
            limit = decision.max_rows
            statement.rows_left = None if limit is None else max(0, limit - summary.rows)

        self._run(
            decision,
            command.raw,
            Phase.FIRST,
            binary=True,
            cursor=cursor,
            statement=statement,
            then=then,
        )
        return True

    async def _fetch(self, command: ClientCommand) -> bool:
        assert isinstance(command, ComStatement)
        statement = self.statements.get(command.statement_id)
        masker = statement.masker if statement is not None else None
        self._forward(command.raw)
        limit = statement.rows_left if statement is not None else None
        rule = statement.decision.rule if statement and statement.decision else ""

        def then(summary: ResponseSummary) -> None:
            if statement is not None and statement.rows_left is not None:
                statement.rows_left = max(0, statement.rows_left - summary.rows)

        self._respond(
            ResponseTracker(Phase.ROWS, self.caps),
            _no_plan,
            True,
            max_rows=limit,
            masker=masker,
            limit_rule=rule,
            then=then,
        )
        return True

    async def _init_db(self, command: ClientCommand) -> bool:
        """A database switch is a policy question, within the resource's `databases`."""
        assert isinstance(command, ComInitDb)
        schema = command.schema
        if not self.allows_database(schema):
            return self._database_refused(schema)
        attributes = {**self._attributes(), "current_database": self.database}
        request = Command(
            operation="init_db",
            text=schema,
            dialect=self.dialect,
            database=schema,
            attributes=attributes,
        )
        decision = await self._decide(request)
        if decision is None:
            return True

        def then(summary: ResponseSummary) -> None:
            if not summary.error:
                self.database = schema

        self._run(decision, command.raw, Phase.SINGLE, then=then)
        return True

    def _database_refused(self, schema: str) -> bool:
        reason = f"database '{schema}' is not served by this resource"
        self.session.event("database_refused", database=schema, reason=reason)
        self._error("ER_DBACCESS_DENIED_ERROR", f"wardgate: {reason}")
        return True

    async def _field_list(self, command: ClientCommand) -> bool:
        assert isinstance(command, ComFieldList)
        text = f"SHOW COLUMNS FROM `{command.table}`"
        await self._decided("field_list", text, command.raw, Phase.FIELDS)
        return True

    async def _kill(self, command: ClientCommand) -> bool:
        assert isinstance(command, ComNumber)
        await self._decided("kill", f"KILL {command.value}", command.raw, Phase.SINGLE)
        return True

    # -- refused and plain commands -----------------------------------------------------

    async def _change_user(self, command: ClientCommand) -> bool:
        return self._refuse(
            command,
            "ER_SPECIFIC_ACCESS_DENIED_ERROR",
            "COM_CHANGE_USER is refused by wardgate: it would switch "
            "identity behind the gateway; open a new connection",
        )

    async def _quit(self, command: ClientCommand) -> bool:
        self._forward(command.raw)
        return False

    def _forward_plain(self, command: ClientCommand) -> bool:
        self._forward(command.raw)
        if command.command == Com.STMT_CLOSE:
            assert isinstance(command, ComStatement)
            self.statements.pop(command.statement_id, None)
        if command.command in NO_RESPONSE:
            return True
        if command.command == Com.RESET_CONNECTION:
            self.statements.clear()
        self._respond(ResponseTracker(Phase.SINGLE, self.caps), _no_plan, False)
        return True

    def _refuse(self, command: ClientCommand, name: str, message: str) -> bool:
        label = (
            Com(command.command).name
            if command.command in Com._value2member_map_
            else (f"0x{command.command:02x}")
        )
        self.session.event("command_refused", command=f"COM_{label}", reason=message)
        self._error(name, f"wardgate: {message}")
        return True

    # -- helpers ------------------------------------------------------------------------

    def _attributes(self) -> dict[str, str]:
        """How the server will lex the next statement (see CommandClassifier)."""
        escapes = "on" if self.status & Status.NO_BACKSLASH_ESCAPES else "off"
        return {"no_backslash_escapes": escapes, "ansi_quotes": self.ansi_quotes}

    def _command(self, operation: str, text: str) -> Command:
        return Command(
            operation=operation,
            text=text,
            dialect=self.dialect,
            database=self.database,
            attributes=self._attributes(),
        )

    async def _decided(
        self,
        operation: str,
        text: str,
        raw: bytes,
        phase: Phase,
        then: Callable[[ResponseSummary], None] | None = None,
    ) -> None:
        decision = await self._decide(self._command(operation, text))
        if decision is not None:
            self._run(decision, raw, phase, then=then)

    def _run(
        self,
        decision: Decision,
        raw: bytes,
        phase: Phase,
        *,
        binary: bool = False,
        cursor: bool = False,
        statement: Prepared | None = None,
        then: Callable[[ResponseSummary], None] | None = None,
    ) -> None:
        """Forward an allowed command; its response is relayed under the decision's limits."""
        self._forward(raw)
        tracker = ResponseTracker(phase, self.caps, cursor)

        def done(summary: ResponseSummary) -> None:
            if statement is not None:
                statement.masker = response.masker
            self._observe(decision, phase, tracker, summary)
            if then is not None:
                then(summary)

        response = self._respond(
            tracker,
            self._planner(decision, binary),
            binary,
            max_rows=decision.max_rows,
            limit_rule=decision.rule,
            report=self._reporter(decision, self.client.bytes_out),
            then=done,
        )

    def _observe(
        self, decision: Decision, phase: Phase, tracker: ResponseTracker, summary: ResponseSummary
    ) -> None:
        """Keep the parse settings true: status flags, and sql_mode after admin commands."""
        if phase is Phase.FIRST and (tracker.status or not summary.error):
            self.status = tracker.status
        if decision.kind in ("admin", "unknown"):
            self.ansi_quotes = EITHER  # it may have SET sql_mode: lex both ways from now

    async def _decide(self, command: Command) -> Decision | None:
        """Ask the gate; a refusal is answered here (ERR) and returns None.

        While a review holds the command the client is still read (its packets wait
        in the decoder), so its disconnect is seen and cancels the wait
        (`_client_lost`); the relay then ends as "client disconnected".
        """
        self._deciding = True
        try:
            decision = await self.session.decide(command, on_hold=self._on_hold)
        except Exception as exc:  # fail closed: a broken policy path denies
            self.session.event("decision_failed", error=type(exc).__name__)
            self._error(
                "ER_TABLEACCESS_DENIED_ERROR",
                "wardgate: the policy could not decide this statement; denied",
            )
            return None
        finally:
            self._deciding = False
        if decision.allowed:
            return decision
        reason = f": {decision.reason}" if decision.reason else ""
        self._error(
            "ER_TABLEACCESS_DENIED_ERROR",
            f"wardgate: {decision.action.value} by rule '{decision.rule}'{reason}",
        )
        return None

    def _on_hold(self, hold: HoldNotice) -> None:
        """The command waits for a reviewer. MySQL has no notice to tell the client
        (it waits for the answer); its disconnect meanwhile cancels the review."""

    def _planner(
        self, decision: Decision, binary: bool
    ) -> Callable[[list[ColumnDefinition41]], MaskingPlan]:
        def plan(columns: list[ColumnDefinition41]) -> MaskingPlan:
            shape = [result_column(c, binary) for c in columns]
            return self.session.masking_plan(decision.command_id, shape)

        return plan

    def _reporter(
        self, decision: Decision, start: int
    ) -> Callable[[ResponseSummary], Awaitable[None]]:
        async def report(summary: ResponseSummary) -> None:
            await self.session.report(
                Outcome(
                    command_id=decision.command_id,
                    rows=summary.rows,
                    bytes_out=self.client.bytes_out - start,
                    error=summary.error,
                    status=summary.status,
                )
            )

        return report

    def _error(self, name: str, message: str) -> None:
        self._error_to_client(name, message)

    def _track_use(self, sql: str) -> None:
        match = USE_STATEMENT.match(sql)
        if match:
            self.database = match.group(1)


def _no_plan(columns: list[ColumnDefinition41]) -> MaskingPlan:
    return MaskingPlan()
