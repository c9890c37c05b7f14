"""`ResponseTracker`: each command's outcome, matched from the backend's replies.

Each test plays what the relay does: `expect` for every message it forwards, and
`on_*` for every backend message, in the order a real server sends them
(PostgreSQL docs, "Message Flow").
"""

from __future__ import annotations

import pytest

from wardgate.seam import Outcome
from wardgate_postgres.tracker import EXECUTE, QUERY, REFUSED, SYNC, ResponseTracker

NOT_EXECUTED = "not executed: an earlier message of its batch failed"
REFUSAL = b"E\x00\x00\x00\x10refusal-frame"
OTHER_REFUSAL = b"E\x00\x00\x00\x10other-refusal"


@pytest.fixture
def tracker() -> ResponseTracker:
    return ResponseTracker(nonce="n0nce")


def substitute_error(tracker: ResponseTracker) -> str:
    """What the server says about the substitute statement (it fails at parse time)."""
    return f'syntax error at or near "{tracker.substitute_sql}"'


# -- simple query ------------------------------------------------------------------------


def test_simple_query_outcome_at_ready_for_query(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    for _ in range(3):
        tracker.on_row(20)
    assert tracker.on_complete("SELECT 3") == []
    assert not tracker.idle
    assert tracker.on_ready("I") == [Outcome("s-1", rows=3, bytes_out=60, status="SELECT 3")]
    assert tracker.idle


def test_simple_query_with_several_statements_ends_once(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    tracker.on_row(10)
    assert tracker.on_complete("SELECT 1") == []
    tracker.on_row(10)
    tracker.on_row(10)
    assert tracker.on_complete("SELECT 2") == []
    (outcome,) = tracker.on_ready("I")
    assert (outcome.rows, outcome.bytes_out, outcome.status) == (3, 30, "SELECT 2")


def test_simple_query_error_reported_at_ready(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    assert tracker.on_error('relation "nope" does not exist') == (None, [])
    assert tracker.on_ready("I") == [Outcome("s-1", error='relation "nope" does not exist')]


def test_empty_query(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    assert tracker.on_complete("") == []
    assert tracker.on_ready("I") == [Outcome("s-1")]


def test_pipelined_simple_queries_end_in_order(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    tracker.expect(QUERY, "s-2")
    tracker.on_complete("BEGIN")
    assert tracker.on_ready("T") == [Outcome("s-1", status="BEGIN")]
    tracker.on_row(5)
    tracker.on_complete("SELECT 1")
    assert tracker.on_ready("T") == [Outcome("s-2", rows=1, bytes_out=5, status="SELECT 1")]


# -- extended protocol -------------------------------------------------------------------


def test_two_pipelined_batches(tracker: ResponseTracker) -> None:
    # Parse/Bind/Execute/Sync twice, sent before reading anything.
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(SYNC)
    tracker.expect(EXECUTE, "s-2")
    tracker.expect(SYNC)
    # ParseComplete and BindComplete are not tracked; rows and completions are.
    tracker.on_row(11)
    tracker.on_row(11)
    assert tracker.on_complete("SELECT 2") == [
        Outcome("s-1", rows=2, bytes_out=22, status="SELECT 2")
    ]
    assert tracker.on_ready("I") == []
    assert not tracker.idle
    tracker.on_row(7)
    assert tracker.on_complete("SELECT 1") == [
        Outcome("s-2", rows=1, bytes_out=7, status="SELECT 1")
    ]
    assert tracker.on_ready("I") == []
    assert tracker.idle


def test_several_executes_in_one_batch(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(EXECUTE, "s-2")
    tracker.expect(SYNC)
    assert tracker.on_complete("INSERT 0 1") == [Outcome("s-1", status="INSERT 0 1")]
    assert tracker.on_complete("INSERT 0 1") == [Outcome("s-2", status="INSERT 0 1")]
    assert tracker.on_ready("I") == []


def test_portal_suspended_ends_the_execute(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(SYNC)
    tracker.on_row(4)
    assert tracker.on_complete("") == [Outcome("s-1", rows=1, bytes_out=4)]
    tracker.on_row(4)
    assert tracker.on_complete("SELECT 1") == [
        Outcome("s-1", rows=1, bytes_out=4, status="SELECT 1")
    ]
    assert tracker.on_ready("T") == []


def test_error_mid_batch_skips_later_executes(tracker: ResponseTracker) -> None:
    for command_id in ("s-1", "s-2", "s-3", "s-4"):
        tracker.expect(EXECUTE, command_id)
    tracker.expect(SYNC)
    assert tracker.on_complete("UPDATE 1") == [Outcome("s-1", status="UPDATE 1")]
    tracker.on_row(3)
    assert tracker.on_error("division by zero") == (
        None,
        [Outcome("s-2", rows=1, bytes_out=3, error="division by zero")],
    )
    # The server skips to Sync; its ReadyForQuery ends the rest of the batch.
    assert tracker.on_ready("E") == [
        Outcome("s-3", error=NOT_EXECUTED),
        Outcome("s-4", error=NOT_EXECUTED),
    ]
    assert not tracker.idle  # failed transaction block
    tracker.expect(QUERY, "s-5")
    tracker.on_complete("ROLLBACK")
    assert tracker.on_ready("I") == [Outcome("s-5", status="ROLLBACK")]
    assert tracker.idle


def test_error_in_first_batch_does_not_touch_the_next(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(SYNC)
    tracker.expect(EXECUTE, "s-2")
    tracker.expect(SYNC)
    assert tracker.on_error("boom")[1] == [Outcome("s-1", error="boom")]
    assert tracker.on_ready("I") == []
    assert tracker.on_complete("SELECT 0") == [Outcome("s-2", status="SELECT 0")]
    assert tracker.on_ready("I") == []


def test_rows_are_not_counted_against_a_sync(tracker: ResponseTracker) -> None:
    tracker.expect(SYNC)
    tracker.expect(EXECUTE, "s-1")
    tracker.on_row(100)  # nothing current: ignored
    assert tracker.on_complete("SELECT 1") == []
    assert tracker.on_error("x") == (None, [])
    assert tracker.on_ready("I") == []
    tracker.on_row(1)
    assert tracker.on_complete("SELECT 1") == [
        Outcome("s-1", rows=1, bytes_out=1, status="SELECT 1")
    ]


def test_replies_with_nothing_pending_are_ignored(tracker: ResponseTracker) -> None:
    tracker.on_row(10)
    assert tracker.on_complete("SELECT 1") == []
    assert tracker.on_error("unexpected") == (None, [])
    assert tracker.on_ready("I") == []
    assert tracker.idle


# -- substitutes for refused commands ----------------------------------------------------


def test_nonce_is_in_the_substitute_and_random_by_default() -> None:
    tracker = ResponseTracker(nonce="abc")
    assert tracker.substitute_sql == "wardgate_refused_abc"
    first, second = ResponseTracker(), ResponseTracker()
    assert first.nonce != second.nonce
    assert len(first.nonce) == 24
    assert first.nonce in first.substitute_sql


def test_refused_simple_query_error_is_replaced(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1", REFUSAL)
    assert tracker.on_error(substitute_error(tracker)) == (REFUSAL, [])
    assert tracker.on_ready("I") == [Outcome("s-1", error="refused")]
    assert tracker.idle


def test_refused_extended_message_error_is_replaced(tracker: ResponseTracker) -> None:
    tracker.expect(REFUSED, "s-1", REFUSAL)
    tracker.expect(EXECUTE, "")
    tracker.expect(SYNC)
    assert tracker.on_error(substitute_error(tracker)) == (
        REFUSAL,
        [Outcome("s-1", error="refused")],
    )
    assert tracker.on_ready("I") == [Outcome("", error=NOT_EXECUTED)]


def test_each_substitute_gets_its_own_refusal(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1", REFUSAL)
    tracker.expect(QUERY, "s-2")
    tracker.expect(QUERY, "s-3", OTHER_REFUSAL)
    assert tracker.on_error(substitute_error(tracker))[0] == REFUSAL
    assert tracker.on_ready("I") == [Outcome("s-1", error="refused")]
    tracker.on_complete("SELECT 1")
    assert tracker.on_ready("I") == [Outcome("s-2", status="SELECT 1")]
    assert tracker.on_error(substitute_error(tracker))[0] == OTHER_REFUSAL
    assert tracker.on_ready("I") == [Outcome("s-3", error="refused")]


def test_allowed_commands_before_a_refused_one_in_a_batch(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(REFUSED, "s-2", REFUSAL)
    tracker.expect(SYNC)
    assert tracker.on_complete("SELECT 0") == [Outcome("s-1", status="SELECT 0")]
    assert tracker.on_error(substitute_error(tracker)) == (
        REFUSAL,
        [Outcome("s-2", error="refused")],
    )
    assert tracker.on_ready("E") == []


def test_genuine_error_before_a_substitute(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(REFUSED, "s-2", REFUSAL)
    tracker.expect(SYNC)
    # s-1 fails for real; the server never reaches the substitute.
    assert tracker.on_error("division by zero") == (
        None,
        [Outcome("s-1", error="division by zero")],
    )
    assert tracker.on_ready("I") == [Outcome("s-2", error=NOT_EXECUTED)]
    # A later refusal is matched to its own frame, not to the skipped one.
    tracker.expect(REFUSED, "s-3", OTHER_REFUSAL)
    tracker.expect(SYNC)
    assert tracker.on_error(substitute_error(tracker)) == (
        OTHER_REFUSAL,
        [Outcome("s-3", error="refused")],
    )


def test_genuine_error_on_a_refused_simple_query_is_not_replaced(
    tracker: ResponseTracker,
) -> None:
    # In a failed transaction the server refuses the substitute without parsing it.
    tracker.expect(QUERY, "s-1", REFUSAL)
    aborted = "current transaction is aborted, commands ignored until end of transaction block"
    assert tracker.on_error(aborted) == (None, [])
    assert tracker.on_ready("E") == [Outcome("s-1", error=aborted)]


def test_another_connections_substitute_is_not_recognised(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    foreign = ResponseTracker(nonce="other")
    assert tracker.on_error(substitute_error(foreign)) == (None, [])
    assert tracker.on_ready("I")[0].error == substitute_error(foreign)


def test_error_of_an_allowed_command_is_never_swapped_for_a_later_refusal(
    tracker: ResponseTracker,
) -> None:
    # A client that learned the nonce (e.g. from pg_stat_activity of another session)
    # makes an allowed command fail with a message naming the substitute.
    tracker.expect(QUERY, "s-1")
    tracker.expect(QUERY, "s-2", REFUSAL)
    crafted = f'relation "{tracker.substitute_sql}" does not exist'
    assert tracker.on_error(crafted) == (None, [])
    assert tracker.on_ready("I") == [Outcome("s-1", error=crafted)]
    assert tracker.on_error(substitute_error(tracker)) == (REFUSAL, [])
    assert tracker.on_ready("I") == [Outcome("s-2", error="refused")]


# -- idle and abandon --------------------------------------------------------------------


def test_idle_needs_nothing_pending_and_no_open_transaction(tracker: ResponseTracker) -> None:
    assert tracker.idle
    tracker.expect(QUERY, "s-1")
    assert not tracker.idle
    tracker.on_complete("BEGIN")
    tracker.on_ready("T")
    assert not tracker.idle  # nothing pending, but inside a transaction
    tracker.expect(QUERY, "s-2")
    tracker.on_complete("COMMIT")
    tracker.on_ready("I")
    assert tracker.idle
    tracker.expect(SYNC)
    assert not tracker.idle


def test_abandon_ends_every_pending_command(tracker: ResponseTracker) -> None:
    tracker.expect(EXECUTE, "s-1")
    tracker.expect(SYNC)
    tracker.expect(QUERY, "s-2")
    tracker.expect(REFUSED, "s-3", REFUSAL)
    tracker.on_row(9)
    assert tracker.abandon("client disconnected") == [
        Outcome("s-1", rows=1, bytes_out=9, error="client disconnected"),
        Outcome("s-2", error="client disconnected"),
        Outcome("s-3", error="client disconnected"),
    ]
    assert tracker.abandon("again") == []
    assert tracker.idle


def test_abandon_keeps_an_earlier_error(tracker: ResponseTracker) -> None:
    tracker.expect(QUERY, "s-1")
    tracker.on_error("deadlock detected")
    assert tracker.abandon("upstream disconnected") == [Outcome("s-1", error="deadlock detected")]


def test_rows_counted_in_bulk_match_rows_counted_one_by_one() -> None:
    one, bulk = ResponseTracker(nonce="a"), ResponseTracker(nonce="b")
    for tracker in (one, bulk):
        tracker.expect(QUERY, "q-1")
        assert not tracker.budgeted
    for _ in range(3):
        one.on_row(10)
    bulk.on_rows(3, 30)
    assert (
        one.on_ready("I") == bulk.on_ready("I") == [Outcome("q-1", rows=3, bytes_out=30, status="")]
    )


def test_a_row_limit_in_flight_is_budgeted() -> None:
    from wardgate_postgres.tracker import RowBudget

    tracker = ResponseTracker(nonce="c")
    tracker.expect(QUERY, "q-1")
    tracker.expect(QUERY, "q-2", budget=RowBudget(5))
    assert tracker.budgeted
    tracker.on_ready("I")
    tracker.on_ready("I")
    assert not tracker.budgeted
