"""What each server packet of a command's response is, and when the response ends.

A response is a small state machine ("COM_QUERY Response", "COM_STMT_PREPARE
Response", "COM_STMT_EXECUTE Response", MySQL internals manual). `ResponseTracker`
is fed payloads in order and names each one (`Part`); `done` turns true after the
last one. The phase table `EXPECTS` says which parts may arrive in each phase.

    FIRST ──count──▶ COLUMNS ──(EOF)──▶ ROWS ──terminator──▶ FIRST (more results) | DONE
                          └ cursor opened: EOF with CURSOR_EXISTS ──▶ DONE (rows by FETCH)
      │ OK / ERR                                  ERR ──▶ DONE
      └ LOCAL INFILE request (the relay refuses it and answers the server)
    PREPARED ──▶ PARAMS ──(EOF)──▶ COLUMNS ──(EOF)──▶ DONE
"""

from __future__ import annotations

import enum

from wardgate_mysql.codec.commands import StmtPrepareOk
from wardgate_mysql.codec.constants import (
    LOCAL_INFILE_HEADER,
    Capability,
    Status,
)
from wardgate_mysql.codec.errors import MalformedPacket
from wardgate_mysql.codec.responses import (
    OkPacket,
    is_err,
    is_ok,
    is_terminator,
    terminator_status,
)
from wardgate_mysql.codec.resultset import decode_column_count


class Part(enum.Enum):
    OK = "ok"
    ERR = "err"
    COLUMN_COUNT = "column_count"
    COLUMN = "column"
    COLUMNS_END = "columns_end"  # the EOF after column definitions (no DEPRECATE_EOF)
    ROW = "row"
    END = "end"  # EOF or OK terminating rows
    PREPARE_OK = "prepare_ok"
    PARAM = "param"
    PARAMS_END = "params_end"
    LOCAL_INFILE = "local_infile"
    INFO = "info"  # COM_STATISTICS' plain string


class Phase(enum.Enum):
    FIRST = "first"  # OK, ERR, LOCAL INFILE or a column count
    SINGLE = "single"  # one packet of any shape (OK/ERR/EOF/string)
    PREPARED = "prepared"  # COM_STMT_PREPARE_OK or ERR
    PARAMS = "params"
    PARAMS_EOF = "params_eof"
    COLUMNS = "columns"
    COLUMNS_EOF = "columns_eof"
    ROWS = "rows"
    FIELDS = "fields"  # COM_FIELD_LIST: definitions until a terminator
    DONE = "done"


class ResponseTracker:
    """Classifies the packets of one response for the capabilities in force."""

    __slots__ = (
        "_after_columns",
        "caps",
        "columns",
        "cursor",
        "phase",
        "prepared",
        "remaining",
        "status",
    )

    def __init__(self, phase: Phase, caps: int, cursor: bool = False) -> None:
        self.caps = caps
        self.phase = phase
        self.columns = 0
        self.remaining = 0
        self.status = 0
        self.cursor = cursor
        self.prepared: StmtPrepareOk | None = None
        self._after_columns = Phase.ROWS

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE

    @property
    def deprecate_eof(self) -> bool:
        return bool(self.caps & Capability.DEPRECATE_EOF)

    def feed(self, payload: bytes) -> Part:
        if self.phase is Phase.DONE:
            raise MalformedPacket("server sent a packet after the end of a response")
        return HANDLERS[self.phase](self, payload)

    # -- phases -------------------------------------------------------------------

    def _first(self, payload: bytes) -> Part:
        if is_ok(payload):
            return self._finish(OkPacket.decode(payload, self.caps).status, Part.OK)
        if is_err(payload):
            return self._end(Part.ERR)
        if payload[:1] == bytes((LOCAL_INFILE_HEADER,)):
            self.phase = Phase.FIRST  # the server answers the (refused) upload with OK/ERR
            return Part.LOCAL_INFILE
        self.columns = decode_column_count(payload)
        self._start_columns(self.columns, Phase.ROWS)
        return Part.COLUMN_COUNT

    def _single(self, payload: bytes) -> Part:
        part = Part.ERR if is_err(payload) else Part.OK if is_ok(payload) else Part.INFO
        return self._end(part)

    def _prepared(self, payload: bytes) -> Part:
        if is_err(payload):
            return self._end(Part.ERR)
        self.prepared = ok = StmtPrepareOk.decode(payload)
        self.columns = ok.columns
        if ok.params:
            self.phase, self.remaining = Phase.PARAMS, ok.params
        else:
            self._start_columns(ok.columns, Phase.DONE)
        return Part.PREPARE_OK

    def _params(self, payload: bytes) -> Part:
        self.remaining -= 1
        if not self.remaining:
            if self.deprecate_eof:
                self._start_columns(self.columns, Phase.DONE)
            else:
                self.phase = Phase.PARAMS_EOF
        return Part.PARAM

    def _params_eof(self, payload: bytes) -> Part:
        self._expect_terminator(payload, "parameter definitions")
        self._start_columns(self.columns, Phase.DONE)
        return Part.PARAMS_END

    def _columns(self, payload: bytes) -> Part:
        self.remaining -= 1
        if not self.remaining:
            self.phase = self._after_columns if self.deprecate_eof else Phase.COLUMNS_EOF
        return Part.COLUMN

    def _columns_eof(self, payload: bytes) -> Part:
        self._expect_terminator(payload, "column definitions")
        self.status = terminator_status(payload, self.caps & ~Capability.DEPRECATE_EOF)
        self.phase = self._after_columns
        if self.phase is Phase.ROWS and self.status & Status.CURSOR_EXISTS:
            self.phase = Phase.DONE
        return Part.COLUMNS_END

    def _rows(self, payload: bytes) -> Part:
        if is_err(payload):
            return self._end(Part.ERR)
        if is_terminator(payload):
            status = terminator_status(payload, self.caps)
            if self.cursor and status & Status.CURSOR_EXISTS:
                # MariaDB ends the metadata of a cursor with EOF/OK even under
                # DEPRECATE_EOF; the rows come with COM_STMT_FETCH.
                self.status, self.phase = status, Phase.DONE
                return Part.COLUMNS_END
            return self._finish(status, Part.END)
        return Part.ROW

    def _fields(self, payload: bytes) -> Part:
        if is_err(payload):
            return self._end(Part.ERR)
        if is_terminator(payload):
            return self._end(Part.END)
        return Part.COLUMN

    # -- helpers ------------------------------------------------------------------

    def _start_columns(self, count: int, after: Phase) -> None:
        self._after_columns = after
        self.remaining = count
        self.phase = Phase.COLUMNS if count else after

    def _expect_terminator(self, payload: bytes, what: str) -> None:
        if not is_terminator(payload):
            raise MalformedPacket(f"expected EOF after {what}")

    def _finish(self, status: int, part: Part) -> Part:
        self.status = status
        more = status & Status.MORE_RESULTS_EXISTS and self.phase is not Phase.SINGLE
        self.phase = Phase.FIRST if more else Phase.DONE
        return part

    def _end(self, part: Part) -> Part:
        self.phase = Phase.DONE
        return part


HANDLERS = {
    Phase.FIRST: ResponseTracker._first,
    Phase.SINGLE: ResponseTracker._single,
    Phase.PREPARED: ResponseTracker._prepared,
    Phase.PARAMS: ResponseTracker._params,
    Phase.PARAMS_EOF: ResponseTracker._params_eof,
    Phase.COLUMNS: ResponseTracker._columns,
    Phase.COLUMNS_EOF: ResponseTracker._columns_eof,
    Phase.ROWS: ResponseTracker._rows,
    Phase.FIELDS: ResponseTracker._fields,
}
