"""The bulk row lane (`Exchange._pass_rows`) against the packet-by-packet path.

The same upstream response, cut at random byte boundaries, goes through an
`Exchange` twice: with the lane and with it forced off. The client must receive
the same bytes (sequence ids included), the gate the same outcome at the same
point (before the response's last packet), and the recording the same payloads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from wardgate.seam import Direction, MaskingPlan
from wardgate_mysql.codec.constants import MAX_PAYLOAD, Capability, Status
from wardgate_mysql.codec.framing import FrameDecoder, encode_packet
from wardgate_mysql.codec.response_state import Phase, ResponseTracker
from wardgate_mysql.codec.responses import EofPacket, ErrPacket, OkPacket
from wardgate_mysql.codec.resultset import ColumnDefinition41, encode_text_row
from wardgate_mysql.exchange import Exchange
from wardgate_mysql.results import ResponseSummary
from wardgate_mysql.stream import PacketStream

BASE = int(Capability.PROTOCOL_41)
DEPRECATE = BASE | int(Capability.DEPRECATE_EOF)
MORE = Status.AUTOCOMMIT | Status.MORE_RESULTS_EXISTS


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return False

    def is_reading(self) -> bool:
        return self.reading

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


@dataclass
class FakeSession:
    recorded: list[tuple[Direction, bytes]] = field(default_factory=list)

    def record(self, direction: Direction, frame: bytes) -> None:
        self.recorded.append((direction, frame))

    def masking_plan(self, command_id: str, columns: Any) -> MaskingPlan:
        return MaskingPlan()

    def event(self, name: str, **fields: Any) -> None:
        pass


@dataclass
class Run:
    client_bytes: bytes
    reports: list[tuple[int, str, str, int, int]]  # rows, error, status, bytes out, sent
    recorded: list[tuple[Direction, bytes]]


def relay(
    response: bytes,
    cuts: list[int],
    *,
    lane: bool,
    caps: int,
    binary: bool = False,
    max_rows: int | None = None,
    client_seq: int = 1,
    slow_report: bool = False,
) -> Run:
    """Feed `response` (framed from sequence id 1) to a fresh exchange in pieces."""

    async def main() -> Run:
        session = FakeSession()
        client = PacketStream(None, None, 1 << 26)
        upstream = PacketStream(None, None, 1 << 26)
        exchange = Exchange(client, upstream, session, _no_command)  # type: ignore[arg-type]
        exchange.pass_rows = lane
        client_side, server_side = FakeTransport(), FakeTransport()
        exchange._client.transport = client_side  # type: ignore[assignment]
        exchange._upstream.transport = server_side  # type: ignore[assignment]
        client.seq, upstream.seq = client_seq, 1  # after the command (sequence id 0)
        reports: list[tuple[int, str, str, int, int]] = []

        async def report(summary: ResponseSummary) -> None:
            if slow_report:
                await asyncio.sleep(0)
            sent = sum(map(len, client_side.written))
            reports.append((summary.rows, summary.error, summary.status, client.bytes_out, sent))

        exchange.respond(
            ResponseTracker(Phase.FIRST, caps),
            lambda columns: MaskingPlan(),
            binary,
            max_rows=max_rows,
            report=report,
        )
        start = 0
        for cut in [*sorted(cuts), len(response)]:
            exchange._server_data(response[start:cut])
            start = cut
            for _ in range(3):
                await asyncio.sleep(0)
        while (busy := exchange._server_busy) is not None:
            await asyncio.wait([busy])
        assert exchange._ended_by is None, exchange._ended_by
        assert exchange._response is None, "the response did not end"
        return Run(b"".join(client_side.written), reports, session.recorded)

    return asyncio.run(main())


async def _no_command(payload: bytes) -> None:
    pass


def frame_all(payloads: list[bytes], seq: int = 1) -> bytes:
    frames = []
    for payload in payloads:
        frame, seq = encode_packet(payload, seq)
        frames.append(frame)
    return b"".join(frames)


def terminator(status: int, caps: int) -> bytes:
    if caps & Capability.DEPRECATE_EOF:
        return OkPacket(status=status, header=0xFE).encode(caps)
    return EofPacket(0, status).encode()


def result_set(columns: int, rows: list[bytes], caps: int, status: int) -> list[bytes]:
    column = ColumnDefinition41("s", "t", "t", "c", "c", 45, 10, 0xFD).encode()
    head = [bytes((columns,))] + [column] * columns
    if not caps & Capability.DEPRECATE_EOF:
        head.append(EofPacket(0, Status.AUTOCOMMIT).encode())
    return head + rows + [terminator(status, caps)]


values = st.one_of(
    st.none(),
    st.binary(max_size=8),
    st.binary(min_size=250, max_size=300),  # a 0xFC length prefix
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, int, bool]:
    """A response of one to three result sets, maybe ending in an ERR mid-rows."""
    caps = draw(st.sampled_from([BASE, DEPRECATE]))
    binary = draw(st.booleans())
    payloads: list[bytes] = []
    if draw(st.booleans()):  # a multi-statement's first result: OK, more follows
        payloads.append(OkPacket(status=MORE).encode(caps))
    sets = draw(st.integers(1, 3))
    for number in range(sets):
        columns = draw(st.integers(1, 3))
        count = draw(st.sampled_from([0, 1, 2, 5, 40, 300]))  # 300 wraps the sequence id
        row = draw(
            st.binary(min_size=1, max_size=40).map(lambda b: b"\x00" + b)
            if binary
            else st.lists(values, min_size=columns, max_size=columns).map(encode_text_row)
        )
        rows = [row] * count
        last = number == sets - 1
        packets = result_set(columns, rows, caps, Status.AUTOCOMMIT if last else MORE)
        if last and draw(st.booleans()):  # ERR in the middle of the rows
            packets = packets[:-1][: len(packets) - 1 - count // 2]
            packets.append(ErrPacket(1317, "Query execution was interrupted").encode())
        payloads += packets
    return frame_all(payloads), caps, binary


@settings(max_examples=300, deadline=None)
@given(
    responses(),
    st.lists(st.integers(0, 20_000), max_size=12),
    st.sampled_from([None, 0, 3, 1000]),
    st.sampled_from([1, 1, 1, 5]),
    st.booleans(),
)
def test_lane_sends_and_reports_what_the_packet_path_does(
    response: tuple[bytes, int, bool],
    cuts: list[int],
    max_rows: int | None,
    client_seq: int,
    slow_report: bool,
) -> None:
    data, caps, binary = response
    cuts = [min(cut, len(data)) for cut in cuts]
    options: dict[str, Any] = {
        "caps": caps,
        "binary": binary,
        "max_rows": max_rows,
        "client_seq": client_seq,
        "slow_report": slow_report,
    }
    fast = relay(data, cuts, lane=True, **options)
    slow = relay(data, cuts, lane=False, **options)
    assert fast.client_bytes == slow.client_bytes
    assert fast.reports == slow.reports
    assert fast.recorded == slow.recorded
    assert len(fast.reports) == 1


def test_lane_forwards_rows_unchanged_with_the_upstream_sequence_ids() -> None:
    row = encode_text_row([b"a", None])
    data = frame_all(result_set(2, [row] * 300, DEPRECATE, Status.AUTOCOMMIT))
    run = relay(data, [len(data) // 2], lane=True, caps=DEPRECATE)
    assert run.client_bytes == data
    assert run.reports[0][:3] == (300, "", "rows 300")
    assert run.reports[0][4] < len(data)  # reported before the last packet was sent


def test_lane_leaves_multi_packet_rows_to_the_packet_path() -> None:
    big = encode_text_row([b"x" * MAX_PAYLOAD])  # two frames (and a 0xFD length prefix)
    small = encode_text_row([b"y"])
    data = frame_all(result_set(1, [small, big, small], BASE, Status.AUTOCOMMIT))
    cuts = [7, MAX_PAYLOAD // 2, MAX_PAYLOAD + 20, len(data) - 3]
    fast = relay(data, cuts, lane=True, caps=BASE)
    slow = relay(data, cuts, lane=False, caps=BASE)
    assert fast.client_bytes == slow.client_bytes == data
    assert fast.reports == slow.reports
    assert fast.reports[0][:3] == (3, "", "rows 3")


def test_take_rows_stops_at_anything_not_plainly_a_row() -> None:
    row = encode_text_row([b"v"])
    eof = EofPacket(0, Status.AUTOCOMMIT).encode()
    err = ErrPacket(1064, "syntax").encode()
    for stopper in (eof, err, b""):
        decoder = FrameDecoder()
        decoder.feed(frame_all([row, row, stopper, row]))
        rows, starts = decoder.take_rows(1)
        assert rows == frame_all([row, row])
        assert starts == [0, 4 + len(row)]
        assert decoder.take_rows(3) == (b"", [])
    decoder = FrameDecoder()
    decoder.feed(frame_all([row, row])[:-1])  # the read ends mid-packet
    assert decoder.take_rows(1)[1] == [0]
    assert decoder.take_rows(2) == (b"", [])
    decoder = FrameDecoder()
    decoder.feed(frame_all([row], seq=7))  # not the expected sequence id
    assert decoder.take_rows(1) == (b"", [])
