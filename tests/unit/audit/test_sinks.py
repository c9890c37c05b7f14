"""Sinks fed from the journal: resume after outages, rotation, OCSF, syslog, store."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Sequence
from pathlib import Path

from wardgate.audit import schema
from wardgate.audit.journal import Journal
from wardgate.audit.log import AuditLog
from wardgate.audit.ocsf import to_ocsf
from wardgate.audit.pump import Cursor, SinkPump
from wardgate.audit.reader import Entry, JournalReader
from wardgate.audit.sinks import FileSink
from wardgate.audit.syslog import SyslogSink, format_message
from wardgate.audit.verify import file_lines, verify_lines
from wardgate.eventlog import EventLog
from wardgate.metrics import Metrics
from wardgate.store import open_store


def journal_with(tmp_path: Path, count: int) -> AuditLog:
    log = AuditLog(Journal(tmp_path / "journal"), instance="i1", metrics=Metrics())
    log.open()
    for index in range(count):
        log.write(
            "command",
            {
                "protocol": "postgres",
                "kind": "read",
                "statement": f"select {index}",
                "identity": "agent",
                "client": "127.0.0.1:5000",
                "decision": "allow",
            },
        )
    return log


class FlakySink:
    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.got: list[int] = []

    async def open(self) -> None:
        return None

    async def write(self, entries: Sequence[Entry]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SIEM down")
        self.got += [e.seq for e in entries]

    async def close(self) -> None:
        return None


async def pump_until(pump: SinkPump, seq: int, limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while pump.delivered < seq:
        assert asyncio.get_running_loop().time() < deadline, "sink did not catch up"
        await asyncio.sleep(0.01)


def test_pump_retries_and_resumes_from_its_cursor(tmp_path: Path) -> None:
    log = journal_with(tmp_path, 20)
    metrics = Metrics()
    sink = FlakySink(failures=3)

    async def run() -> None:
        pump = SinkPump(
            sink, tmp_path / "journal", metrics, EventLog(), batch=7, backoff=(0.001, 0.01)
        )
        log.on_append(pump.notify)
        pump.announce(log.head_seq)
        await pump.start()
        await pump_until(pump, 21)
        await pump.stop()
        log.write("command", {"late": True})  # written while the sink is away
        later = SinkPump(sink, tmp_path / "journal", metrics, EventLog())
        later.announce(log.head_seq)
        await later.start()
        await pump_until(later, 22)
        await later.stop()

    asyncio.run(run())
    assert sink.got == list(range(1, 23))
    assert Cursor(tmp_path / "journal", "flaky").load() == 22
    assert 'wardgate_audit_sink_errors_total{sink="flaky"} 3.0' in metrics.exposition().decode()


def test_a_caught_up_pump_saves_its_cursor_without_waiting_for_the_next_batch(
    tmp_path: Path,
) -> None:
    """A burst delivered within the save interval is on disk once the pump is idle, so
    a restart does not resend it and retention may prune behind it."""
    log = journal_with(tmp_path, 30)
    sink = FlakySink(failures=0)

    async def run() -> None:
        pump = SinkPump(sink, tmp_path / "journal", Metrics(), EventLog(), batch=10)
        log.on_append(pump.notify)
        pump.announce(log.head_seq)
        await pump.start()
        await pump_until(pump, 31)
        deadline = asyncio.get_running_loop().time() + 5
        while Cursor(tmp_path / "journal", "flaky").load() < 31:
            assert asyncio.get_running_loop().time() < deadline, "cursor not saved"
            await asyncio.sleep(0.01)
        assert pump.saved == 31
        task, pump._task = pump._task, None  # a crash: no orderly stop, no final save
        assert task is not None
        task.cancel()

    asyncio.run(run())
    assert Cursor(tmp_path / "journal", "flaky").load() == 31


def test_file_sink_rotates_and_each_file_verifies(tmp_path: Path) -> None:
    journal_with(tmp_path, 50)
    entries = list(JournalReader(tmp_path / "journal"))
    sink = FileSink(tmp_path / "out" / "audit.jsonl", "jsonl", max_bytes=4000, backups=50)
    asyncio.run(sink.write(entries[:25]))
    asyncio.run(sink.write(entries[25:]))
    files = sorted((tmp_path / "out").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert len(files) > 1
    ordered = sorted(files, key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    report = verify_lines(file_lines(ordered))
    assert report.ok
    assert report.records == 51


def test_ocsf_events_carry_a_verifiable_record(tmp_path: Path) -> None:
    journal_with(tmp_path, 3)
    entries = list(JournalReader(tmp_path / "journal"))
    sink = FileSink(tmp_path / "audit.ocsf.jsonl", "ocsf")
    asyncio.run(sink.write(entries))
    lines = (tmp_path / "audit.ocsf.jsonl").read_bytes().splitlines(keepends=True)
    event = json.loads(lines[1])
    assert event["class_uid"] == 6005
    assert event["activity_id"] == 1
    assert event["type_uid"] == 600501
    assert event["query_info"]["query_string"] == "select 0"
    assert event["actor"]["user"]["name"] == "agent"
    assert event["src_endpoint"] == {"ip": "127.0.0.1", "port": 5000}
    assert verify_lines(file_lines([tmp_path / "audit.ocsf.jsonl"])).ok


def test_ocsf_classes_for_sessions_and_http() -> None:
    base = {"ts": "2024-01-01T00:00:00.000000Z", "seq": 1, "hash": "h"}
    assert to_ocsf({**base, "type": "session_start"})["class_uid"] == 3002
    failure = to_ocsf({**base, "type": "auth_failure"})
    assert failure["class_uid"] == 3002
    assert failure["status_id"] == 2
    http = to_ocsf({**base, "type": "command", "protocol": "http", "statement": "POST /v1/x"})
    assert http["class_uid"] == 6003
    assert http["activity_id"] == 1
    assert http["http_request"] == {"http_method": "POST", "url": {"path": "/v1/x"}}


def test_syslog_message_is_rfc5424() -> None:
    entry = Entry(
        7,
        b'{"seq":7}\n',
        {
            "seq": 7,
            "type": "command",
            "decision": "deny",
            "ts": "2024-01-01T00:00:00.000000Z",
            "hash": "ab",
        },
        "x",
    )
    message = format_message(entry, "jsonl", "host1", 13)
    assert message.startswith(b"<108>1 2024-01-01T00:00:00.000000Z host1 wardgate ")
    assert b' command [wardgate@32473 seq="7" hash="ab" instance=""] {"seq":7}' in message


def test_syslog_udp_and_tcp_delivery(tmp_path: Path) -> None:
    journal_with(tmp_path, 2)
    entries = list(JournalReader(tmp_path / "journal"))

    async def run() -> tuple[list[bytes], bytes]:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(2)
        sink = SyslogSink("127.0.0.1", udp.getsockname()[1], "udp")
        await sink.open()
        await sink.write(entries)
        await sink.close()
        datagrams = [udp.recv(65536) for _ in entries]
        udp.close()
        received = bytearray()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.extend(await reader.read())
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        tcp = SyslogSink("127.0.0.1", server.sockets[0].getsockname()[1], "tcp")
        await tcp.open()
        await tcp.write(entries)
        await tcp.close()
        await asyncio.sleep(0.05)
        server.close()
        await server.wait_closed()
        return datagrams, bytes(received)

    datagrams, stream = asyncio.run(run())
    assert len(datagrams) == 3
    assert all(d.startswith(b"<110>1 ") for d in datagrams)
    length, _, rest = stream.partition(b" ")
    assert rest[: int(length)].startswith(b"<110>1 ")


def test_store_sink_is_idempotent_and_tampering_is_found(tmp_path: Path) -> None:
    journal_with(tmp_path, 5)
    entries = list(JournalReader(tmp_path / "journal"))

    async def run() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/state.db", tmp_path, schema.MIGRATIONS)
        await schema.insert(store, entries)
        await schema.insert(store, entries[2:])  # at-least-once delivery
        reports = await schema.verify_store(store, None)
        assert reports["i1"].ok
        assert reports["i1"].records == 6
        row = await store.fetchone("SELECT record FROM audit_records WHERE seq = 4")
        assert row is not None
        edited = row["record"].replace("select 2", "select 9")
        await store.execute("UPDATE audit_records SET record = :r WHERE seq = 4", {"r": edited})
        problem = (await schema.verify_store(store, None))["i1"].problem
        assert problem is not None
        assert problem.seq == 4
        await store.close()

    asyncio.run(run())


def test_file_sink_skips_what_it_already_has_after_a_crash(tmp_path: Path) -> None:
    journal_with(tmp_path, 6)
    entries = list(JournalReader(tmp_path / "journal"))
    for fmt in ("jsonl", "ocsf"):
        path = tmp_path / f"out.{fmt}"

        async def run(path: Path = path, fmt: str = fmt) -> None:
            first = FileSink(path, fmt)
            await first.open()
            await first.write(entries[:5])
            again = FileSink(path, fmt)  # a restart: the cursor lagged behind the file
            await again.open()
            await again.write(entries[2:])

        asyncio.run(run())
        report = verify_lines(file_lines([path]))
        assert report.ok
        assert report.records == 7


def test_feed_switches_between_journal_and_memory_without_gaps(tmp_path: Path) -> None:
    from wardgate.audit.pump import Feed

    log = journal_with(tmp_path, 3)  # seq 1..4 in the journal
    feed = Feed(tmp_path / "journal", after=0, capacity=3)
    log.on_append(feed.offer)
    feed.head = log.head_seq

    async def drain() -> list[int]:
        seqs = []
        while batch := await feed.take(2):
            seqs += [e.seq for e in batch]
        return seqs

    assert asyncio.run(drain()) == [1, 2, 3, 4]
    assert asyncio.run(drain()) == []  # caught up: switched to memory
    assert feed.from_memory
    for _ in range(2):
        log.write("command", {})
    assert asyncio.run(drain()) == [5, 6]
    assert feed.from_memory
    for _ in range(5):  # more than `capacity` waiting: back to the journal
        log.write("command", {})
    assert not feed.from_memory
    assert asyncio.run(drain()) == [7, 8, 9, 10, 11]
    assert asyncio.run(drain()) == []
    assert feed.from_memory


def test_store_rows_from_memory_are_the_rows_from_the_journal(tmp_path: Path) -> None:
    """Records handed over in memory (rendered, never parsed) file under the same columns."""
    from wardgate.audit.evidence import Evidence, SessionFacts
    from wardgate.audit.pump import Feed
    from wardgate.seam import Action, ClientInfo, Command, Decision, Identity, Outcome

    log = journal_with(tmp_path, 1)
    feed = Feed(tmp_path / "journal", 0)
    log.on_append(feed.offer)

    async def run() -> list[Entry]:
        feed.head = log.head_seq
        taken = await feed.take(500)  # catch up with the journal …
        assert await feed.take(500) == []
        assert feed.from_memory  # … then take new records from memory
        facts = SessionFacts("s-1", "pg é", "postgres", Identity('agent "1"'), ClientInfo("::1", 5))
        session = Evidence(log).session(facts, database="db")
        for index in range(3):
            decision = Decision(Action.ALLOW, "r", command_id=f"s-1-{index}", kind="read")
            session.decided(Command("query", f"select {index}", "postgres"), decision, "v1")
            session.reported(Outcome(f"s-1-{index}", rows=index))
        return taken + await feed.take(500)

    from_memory = asyncio.run(run())
    from_journal = list(JournalReader(tmp_path / "journal"))
    assert [e.location for e in from_memory][-3:] == ["memory"] * 3
    assert [schema._row(e) for e in from_memory] == [schema._row(e) for e in from_journal]
    assert [e.record for e in from_memory] == [e.record for e in from_journal]


def test_store_insert_takes_any_batch_size_once(tmp_path: Path) -> None:
    async def run() -> None:
        store = await open_store(f"sqlite:///{tmp_path}/state.db", tmp_path)
        await store.execute("CREATE TABLE t (k TEXT, n BIGINT, v TEXT, PRIMARY KEY (k, n))")
        rows = [("a", n, f"v{n} '%s' é") for n in range(1, 701)]
        for size in (1, 2, 3, 255, 256, 257, 700):
            await store.insert("t", ("k", "n", "v"), rows[:size], unique=("k", "n"))
        assert await store.fetchone("SELECT count(*) AS c, sum(n) AS s FROM t") == {
            "c": 700,
            "s": 700 * 701 // 2,
        }
        assert await store.fetchone("SELECT v FROM t WHERE n = 699") == {"v": "v699 '%s' é"}
        await store.close()

    asyncio.run(run())


class CountingSink(FlakySink):
    """Counts deliveries; each takes a little time, as a real store's insert does."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__(failures=0)
        self.batches = 0

    async def write(self, entries: Sequence[Entry]) -> None:
        self.batches += 1
        await asyncio.sleep(0.005)
        await super().write(entries)


def test_records_arriving_during_a_delivery_wait_to_make_a_batch(tmp_path: Path) -> None:
    """Under steady load the pump must not chase the head one small batch at a time
    (each delivery is a worker-thread round trip that competes with the relay)."""
    log = journal_with(tmp_path, 1)
    sink = CountingSink()

    async def run() -> None:
        pump = SinkPump(sink, tmp_path / "journal", Metrics(), EventLog(), linger=0.05)
        log.on_append(pump.notify)
        pump.announce(log.head_seq)
        await pump.start()
        for index in range(300):  # a record every ms for 0.3 s
            log.write("command", {"statement": f"select {index}"})
            pump.announce(log.head_seq)
            await asyncio.sleep(0.001)
        await pump_until(pump, log.head_seq)
        await pump.stop()

    asyncio.run(run())
    assert sink.got == list(range(1, 303))
    assert sink.batches <= 15, f"{sink.batches} deliveries for 302 records"
