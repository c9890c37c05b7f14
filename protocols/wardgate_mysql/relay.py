"""The command phase: decode each client command, ask the gate, relay the response.

Every client packet is decoded by command byte (`codec.commands`). SQL-bearing
commands (COM_QUERY, COM_STMT_PREPARE / EXECUTE, COM_INIT_DB, COM_FIELD_LIST,
COM_PROCESS_KILL) are decided by the session first; a refusal is an ERR 1142 naming
the rule and the connection stays usable. COM_CHANGE_USER (it would switch identity
behind the gateway's back), replication commands and anything unknown are refused
without reaching the upstream. Commands without SQL are forwarded as they are.
Reading, writing and the one-command-at-a-time order are the `Exchange`'s.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
from wardgate_mysql.codec.response_state import Phase, ResponseTracker
from wardgate_mysql.codec.resultset import ColumnDefinition41
from wardgate_mysql.exchange import Exchange
from wardgate_mysql.masking import RowMasker
from wardgate_mysql.results import ResponseSummary, result_column
from wardgate_mysql.stream import PacketStream

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

    What arrives and leaves goes through an `Exchange` (the transports, one command
    at a time); this class decides each command and says what its response means.
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
        self.exchange = Exchange(client, upstream, session, self._handle_packet)
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

    async def run(self) -> str:
        """Serve commands until the client quits; returns why it ended.

        What ended it abnormally is raised: the listener turns it into the client's
        last ERR and the session's end reason.
        """
        return await self.exchange.run()

    def drain(self) -> None:
        """Graceful shutdown: end now if idle, else once the current command is done."""
        self.exchange.drain()

    async def _handle_packet(self, payload: bytes) -> None:
        self.session.record(Direction.CLIENT_TO_SERVER, payload)
        exchange = self.exchange
        if exchange.draining:
            exchange.error("ER_SERVER_SHUTDOWN", "wardgate is shutting down")
            return exchange.finish("gateway shutdown")
        if not await self.dispatch(decode_command(payload)):
            exchange.finish("client quit")

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
        self.exchange.forward(command.raw)
        limit = statement.rows_left if statement is not None else None
        rule = statement.decision.rule if statement and statement.decision else ""

        def then(summary: ResponseSummary) -> None:
            if statement is not None and statement.rows_left is not None:
                statement.rows_left = max(0, statement.rows_left - summary.rows)

        self.exchange.respond(
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
        self.exchange.forward(command.raw)
        return False

    def _forward_plain(self, command: ClientCommand) -> bool:
        self.exchange.forward(command.raw)
        if command.command == Com.STMT_CLOSE:
            assert isinstance(command, ComStatement)
            self.statements.pop(command.statement_id, None)
        if command.command in NO_RESPONSE:
            return True
        if command.command == Com.RESET_CONNECTION:
            self.statements.clear()
        self.exchange.respond(ResponseTracker(Phase.SINGLE, self.caps), _no_plan, False)
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
        self.exchange.forward(raw)
        tracker = ResponseTracker(phase, self.caps, cursor)

        def done(summary: ResponseSummary) -> None:
            if statement is not None:
                statement.masker = response.masker
            self._observe(decision, phase, tracker, summary)
            if then is not None:
                then(summary)

        response = self.exchange.respond(
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
        self.exchange.deciding = True
        try:
            # The usual case needs no waiting: no coroutine for it (same decision).
            decision = self.session.decide_now(command) or await self.session.decide(
                command, on_hold=self._on_hold
            )
        except Exception as exc:  # fail closed: a broken policy path denies
            self.session.event("decision_failed", error=type(exc).__name__)
            self._error(
                "ER_TABLEACCESS_DENIED_ERROR",
                "wardgate: the policy could not decide this statement; denied",
            )
            return None
        finally:
            self.exchange.deciding = False
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
        self.exchange.error(name, message)

    def _track_use(self, sql: str) -> None:
        match = USE_STATEMENT.match(sql)
        if match:
            self.database = match.group(1)


def _no_plan(columns: list[ColumnDefinition41]) -> MaskingPlan:
    return MaskingPlan()
