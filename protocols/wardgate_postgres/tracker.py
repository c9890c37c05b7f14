"""Matching backend responses to the frontend requests that caused them.

Theory of operation ("Message Flow", protocol 3.0): the server answers requests in
order. A simple Query ends with exactly one ReadyForQuery; in the extended protocol
each Execute ends with CommandComplete, EmptyQueryResponse, PortalSuspended or an
ErrorResponse, and after an error the server skips everything up to the next Sync,
whose ReadyForQuery closes the batch. The relay tells the tracker what it forwarded
(`expect_*`) and what came back (`on_*`); the tracker returns each command's
`Outcome` once it is over, so the relay can report it before releasing the bytes
that end it.

A refused command is replaced upstream by a substitute that fails at parse time
with an identifier carrying a per-connection nonce; the server's error for it is
recognised by that nonce and swapped for the refusal the gate decided. The server
thus walks the same state machine (failed transaction, skip to Sync) as it would
for a genuine permission error, and client and server agree on transaction state.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

from wardgate.seam import Outcome

QUERY = "query"  # simple Query: ends at ReadyForQuery
EXECUTE = "execute"  # extended Execute: ends at its completion message
REFUSED = "refused"  # substitute for a refused extended message: ends at its error
SYNC = "sync"  # extended batch end: ends at ReadyForQuery


@dataclass(slots=True)
class RowBudget:
    """A rule's max_rows for one result; a portal's budget spans all its Executes."""

    limit: int
    used: int = 0


@dataclass(slots=True)
class Pending:
    kind: str
    command_id: str
    refusal: bytes = b""  # ErrorResponse frame to show instead of the substitute's error
    rows: int = 0
    bytes_out: int = 0
    status: str = ""
    error: str = ""
    budget: RowBudget | None = None  # the deciding rule's row limit
    limit_error: bytes = b""  # ErrorResponse frame shown once the limit is passed
    over_limit: bool = False
    may_reconfigure: bool = False  # may change parse settings (anything but a read)

    def outcome(self) -> Outcome:
        return Outcome(
            command_id=self.command_id,
            rows=self.rows,
            bytes_out=self.bytes_out,
            error=self.error,
            status=self.status,
        )


class ResponseTracker:
    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(12)
        self.substitute_sql = f"wardgate_refused_{self.nonce}"
        self._pending: deque[Pending] = deque()
        self.transaction_status = "I"

    @property
    def idle(self) -> bool:
        """Nothing in flight and no open transaction: safe to end the connection."""
        return not self._pending and self.transaction_status == "I"

    def expect(
        self,
        kind: str,
        command_id: str = "",
        refusal: bytes = b"",
        budget: RowBudget | None = None,
        limit_error: bytes = b"",
        may_reconfigure: bool = False,
    ) -> None:
        self._pending.append(
            Pending(
                kind,
                command_id,
                refusal,
                budget=budget,
                limit_error=limit_error,
                may_reconfigure=may_reconfigure,
            )
        )

    @property
    def unsettled(self) -> bool:
        """Whether a command in flight may still change how the server parses text."""
        # A loop, not `any` over a generator (asked about on every command).
        for entry in self._pending:  # noqa: SIM110
            if entry.may_reconfigure:
                return True
        return False

    @property
    def budgeted(self) -> bool:
        """Whether a command in flight has a row limit (its rows must be counted one by one)."""
        for entry in self._pending:  # noqa: SIM110 (as above)
            if entry.budget is not None:
                return True
        return False

    def on_rows(self, count: int, size: int) -> None:
        """Count `count` DataRows of `size` bytes in all; only when nothing is `budgeted`."""
        entry = self._current()
        if entry is not None:
            entry.rows += count
            entry.bytes_out += size

    def over_limit(self) -> Pending | None:
        """The command being answered, if it has passed its row limit."""
        entry = self._current()
        return entry if entry is not None and entry.over_limit else None

    def _current(self) -> Pending | None:
        for entry in self._pending:
            if entry.kind != SYNC:
                return entry
            return None
        return None

    def on_row(self, size: int) -> bool:
        """Count a DataRow; False once the command's row limit is passed (withhold it)."""
        entry = self._current()
        if entry is None:
            return True
        budget = entry.budget
        if budget is not None:
            if budget.used >= budget.limit:
                if not entry.over_limit:
                    entry.over_limit = True
                    entry.error = f"result exceeded max_rows ({budget.limit})"
                return False
            budget.used += 1
        entry.rows += 1
        entry.bytes_out += size
        return True

    def on_complete(self, tag: str) -> list[Outcome]:
        """CommandComplete / EmptyQueryResponse / PortalSuspended."""
        entry = self._current()
        if entry is None:
            return []
        entry.status = tag
        if entry.kind == EXECUTE:
            self._pending.remove(entry)
            return [entry.outcome()]
        return []

    def on_error(self, message: str) -> tuple[bytes | None, list[Outcome]]:
        """An ErrorResponse: returns (replacement frame or None, finished outcomes).

        Only the error of the command the server is answering now can be a
        substitute's: an error that merely quotes the nonce (a client that learnt
        it) is never swapped for a refusal of a later command.
        """
        entry = self._current()
        if entry is None:
            return None, []
        replacement = None
        if entry.refusal and self.substitute_sql in message:
            replacement, entry.error, entry.refusal = entry.refusal, "refused", b""
        else:
            entry.error = entry.error or message
        if entry.kind in (EXECUTE, REFUSED):
            self._pending.remove(entry)
            return replacement, [entry.outcome()]
        return replacement, []

    def on_ready(self, status: str) -> list[Outcome]:
        """ReadyForQuery: ends the oldest Query, or the batch up to the oldest Sync."""
        self.transaction_status = status
        finished: list[Outcome] = []
        while self._pending:
            entry = self._pending.popleft()
            if entry.kind == SYNC:
                break
            if entry.kind == QUERY:
                finished.append(entry.outcome())
                break
            entry.error = entry.error or "not executed: an earlier message of its batch failed"
            finished.append(entry.outcome())
        return finished

    def abandon(self, reason: str) -> list[Outcome]:
        """The connection ended: every pending command ends with `reason`."""
        finished = []
        for entry in self._pending:
            if entry.kind != SYNC:
                entry.error = entry.error or reason
                finished.append(entry.outcome())
        self._pending.clear()
        return finished
