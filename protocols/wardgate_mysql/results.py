"""Stream one command's response from the upstream to the client.

Packets are classified by the pure `ResponseTracker` and forwarded as they arrive
(the relay feeds each in and writes what comes back once per upstream read).
Column definitions are decoded to ask the gate for a masking plan per result
shape; rows are rewritten only when the plan is not empty. The response's last
packet is held until the outcome has been reported, so the audit record is
durable before the client sees the result end.
A LOCAL INFILE request is never shown to the client: the upstream gets an empty
upload and the client an ERR.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wardgate.seam import MaskingPlan, ResultColumn, Session
from wardgate_mysql.codec.commands import StmtPrepareOk
from wardgate_mysql.codec.errors import MySQLProtocolError
from wardgate_mysql.codec.response_state import Part, Phase, ResponseTracker
from wardgate_mysql.codec.responses import ErrPacket, OkPacket
from wardgate_mysql.codec.resultset import ColumnDefinition41
from wardgate_mysql.errcodes import ERRORS
from wardgate_mysql.masking import RowMasker, scrub_err

PlanFor = Callable[[list[ColumnDefinition41]], MaskingPlan]
Report = Callable[["ResponseSummary"], Awaitable[None]]
Then = Callable[["ResponseSummary"], None]


class UpstreamLost(Exception):
    """The upstream closed or sent garbage mid-response; the connection cannot go on."""


class ClientGone(Exception):
    """The client went away mid-response."""


def err_payload(name: str, message: str) -> bytes:
    code, state, _ = ERRORS[name]
    return ErrPacket(code, message, state).encode()


def result_column(column: ColumnDefinition41, binary: bool) -> ResultColumn:
    table = column.org_table
    if table and column.schema:
        table = f"{column.schema}.{table}"
    return ResultColumn(
        name=column.name,
        type_name=str(column.type),
        source_table=table,
        source_column=column.org_name,
        binary=binary,
    )


@dataclass(slots=True)
class ResponseSummary:
    rows: int = 0
    error: str = ""
    status: str = ""
    prepared: StmtPrepareOk | None = None
    columns: list[ColumnDefinition41] = field(default_factory=list)
    params: list[ColumnDefinition41] = field(default_factory=list)


class ResponseRelay:
    """One command's response, fed to it packet by packet as the upstream sends it.

    `feed` returns the bytes to forward for each packet (b"" for none). Once `done`,
    what it returned is the response's final packet: the relay sends it only after
    `report(summary)` has returned, then calls `then(summary)`. Past the row limit,
    or after a refused LOCAL INFILE request, the rest of the response is drained
    upstream and the final packet is an ERR saying why.
    """

    def __init__(
        self,
        session: Session,
        tracker: ResponseTracker,
        plan_for: PlanFor,
        binary: bool,
        upload: Callable[[bytes], None],
        max_rows: int | None = None,
        masker: RowMasker | None = None,
        limit_rule: str = "",
        report: Report | None = None,
        then: Then | None = None,
    ) -> None:
        self.session, self.tracker, self.plan_for, self.binary = session, tracker, plan_for, binary
        self.upload = upload  # writes one packet to the upstream (an empty LOCAL INFILE)
        self.max_rows = max_rows
        self.limit_rule = limit_rule  # the rule whose max_rows applies (named in the ERR)
        self.summary = ResponseSummary()
        self.masker = masker  # COM_STMT_FETCH: the row shape is known already
        self.report = report or _no_report
        self.then = then
        self._final: bytes | None = None  # set when the rest is drained, not forwarded

    @property
    def done(self) -> bool:
        return self.tracker.done

    @property
    def passes_rows(self) -> bool:
        """Rows may go through as they came (`count_rows`): the response is in the
        rows of a result set, with no masking plan and no row limit on them."""
        return (
            self.tracker.phase is Phase.ROWS
            and self.masker is None
            and self.max_rows is None
            and self._final is None
        )

    def count_rows(self, rows: int) -> None:
        """`rows` row packets went through unchanged, as `feed` would have sent them
        (only while `passes_rows`; the tracker stays in the row phase for rows)."""
        self.summary.rows += rows

    def feed(self, payload: bytes) -> bytes:
        try:
            part = self.tracker.feed(payload)
            if self._final is not None:
                return self._drained(part)
            return self._handle(part, payload)
        except MySQLProtocolError as exc:
            raise UpstreamLost(f"upstream protocol error: {exc.message}") from exc

    def _drained(self, part: Part) -> bytes:
        if part is Part.LOCAL_INFILE:
            self.upload(b"")
        return self._final if self._final is not None and self.tracker.done else b""

    def _handle(self, part: Part, payload: bytes) -> bytes:
        if part is Part.ROW:
            return self._row(payload)
        if part is Part.COLUMN:
            self._column(payload)
        elif part is Part.COLUMN_COUNT:
            self.summary.columns = []
            self.masker = None
        elif part is Part.PARAM:
            self.summary.params.append(ColumnDefinition41.decode(payload))
        elif part is Part.PREPARE_OK:
            self.summary.prepared = self.tracker.prepared
        elif part is Part.LOCAL_INFILE:
            return self._refuse_infile()
        elif part is Part.ERR:
            payload = self._scrub_err(payload)
            self.summary.error = ErrPacket.decode(payload).message
        elif part in (Part.OK, Part.END):
            self.summary.status = self._status(payload, part)
        return payload

    def _column(self, payload: bytes) -> None:
        columns = self.summary.columns
        columns.append(ColumnDefinition41.decode(payload))
        if len(columns) == self.tracker.columns and self.tracker.prepared is None:
            self._plan(columns)

    def _plan(self, columns: list[ColumnDefinition41]) -> None:
        plan = self.plan_for(columns)
        if not plan.empty:
            self.masker = RowMasker(plan, [c.type for c in columns], self.binary)

    def _row(self, payload: bytes) -> bytes:
        self.summary.rows += 1
        if self.max_rows is not None and self.summary.rows > self.max_rows:
            return self._over_limit()
        return self.masker(payload) if self.masker is not None else payload

    def _scrub_err(self, payload: bytes) -> bytes:
        """An ERR may echo values (duplicate entry, incorrect value): scrub when masking."""
        masker = self.session.masking_plan("", ()).masker
        return payload if masker is None else scrub_err(payload, masker)

    def _status(self, payload: bytes, part: Part) -> str:
        if part is Part.END:
            return f"rows {self.summary.rows}"
        ok = OkPacket.decode(payload, self.tracker.caps)
        return f"OK {ok.affected_rows}"

    def _over_limit(self) -> bytes:
        """Past the limit: drain the rest upstream, end the result with a clear ERR."""
        limit = self.max_rows or 0
        self.summary.rows = limit
        self.summary.error = f"result exceeds max_rows ({limit})"
        self.session.event("max_rows_exceeded", rows=limit, rule=self.limit_rule)
        return self._drain(
            err_payload(
                "ER_QUERY_INTERRUPTED",
                f"wardgate: result exceeds the {limit}-row limit of rule '{self.limit_rule}'; "
                f"the first {limit} rows were sent, the rest withheld",
            )
        )

    def _refuse_infile(self) -> bytes:
        self.session.event("local_infile_refused")
        self.upload(b"")  # an empty upload ends the transfer
        self.summary.error = "LOCAL INFILE refused"
        return self._drain(
            err_payload(
                "ER_NOT_ALLOWED_COMMAND",
                "wardgate: LOAD DATA LOCAL INFILE is refused (the server may not "
                "read files from the client)",
            )
        )

    def _drain(self, final: bytes) -> bytes:
        """Forward nothing more; `final` ends the response once the upstream has."""
        self._final = final
        return final if self.tracker.done else b""


async def _no_report(summary: ResponseSummary) -> None:
    return None
