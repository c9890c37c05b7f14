"""Which RowDescription applies to which rows in the extended protocol; undescribed
results are withheld (their rows dropped, their completion an error)."""

from __future__ import annotations

from collections.abc import Sequence

from wardgate.masking.planner import MaskingEngine
from wardgate.seam import ColumnMask, MaskingPlan, ResultColumn
from wardgate_postgres.codec import (
    Bind,
    CommandComplete,
    Describe,
    Execute,
    FieldDescription,
    Frame,
    FrameSplitter,
    Parse,
    RowDescription,
    Sync,
    datarow_values,
    encode_datarow,
)
from wardgate_postgres.masking import ResultMasking
from wardgate_postgres.tracker import EXECUTE, ResponseTracker


class _Session:
    def __init__(self, engine: MaskingEngine) -> None:
        self.masker = engine.masker()
        self.events: list[str] = []

    def masking_plan(self, command_id: str, columns: Sequence[ResultColumn]) -> MaskingPlan:
        if not command_id:
            return MaskingPlan(masker=self.masker)
        return MaskingPlan((ColumnMask(0, "pii", "redact"),), False, self.masker)

    def event(self, name: str, **fields: object) -> None:
        self.events.append(name)


def _frame(raw: bytes) -> Frame:
    return FrameSplitter(1 << 20).feed(raw)[0]


def _setup(engine: MaskingEngine) -> tuple[ResultMasking, ResponseTracker]:
    tracker = ResponseTracker()
    masking = ResultMasking.for_session(_Session(engine), tracker)  # type: ignore[arg-type]
    assert masking is not None
    return masking, tracker


def test_statement_description_with_bind_formats(engine: MaskingEngine) -> None:
    masking, tracker = _setup(engine)
    masking.client(Parse.build("s", "SELECT email FROM t", ()))
    masking.client(Describe.build("S", "s"))
    masking.client(Sync())
    masking.server(_frame(b"1\0\0\0\4"), b"")
    fields = (FieldDescription("email", type_oid=25),)
    masking.server(_frame(RowDescription(fields).raw), b"")
    masking.server(_frame(b"Z\0\0\0\5I"), b"")
    for message in (Bind.build("p", "s", (), (), (), (1,)), Execute.build("p"), Sync()):
        masking.client(message)
    tracker.expect(EXECUTE, "cmd-1")
    masking.server(_frame(b"2\0\0\0\4"), b"")
    out = masking.row(_frame(encode_datarow([b"alice@example.com"])))
    assert datarow_values(memoryview(out)[5:]) == [b"****"]


def test_undescribed_execute_is_withheld(engine: MaskingEngine) -> None:
    masking, tracker = _setup(engine)
    for message in (
        Parse.build("", "SELECT email FROM t", ()),
        Bind.build("", ""),
        Execute.build(""),
    ):
        masking.client(message)
    tracker.expect(EXECUTE, "cmd-1")
    masking.server(_frame(b"1\0\0\0\4"), b"")
    masking.server(_frame(b"2\0\0\0\4"), b"")
    assert masking.row(_frame(encode_datarow([b"alice@example.com"]))) == b""
    complete = _frame(CommandComplete("SELECT 1").raw)
    replaced = masking.server(complete, complete.raw)
    assert replaced.startswith(b"E")
    assert b"never described" in replaced
