"""`LoopCounter` and `LoopHistogram` expose exactly what prometheus_client's types would."""

from __future__ import annotations

import threading
import time

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import metrics as prometheus_metrics

from wardgate.metrics import LATENCY_BUCKETS, LoopCounter, LoopHistogram, Metrics

LABELS = ["resource", "protocol", "direction"]
OBSERVED = [0.0, 0.0001, 0.00011, 0.00025, 0.003, 0.05, 1.0, 1.5, 30.0, 0.0004999]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both sides stamp `_created` with `time.time()`; make it the same."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.25)


def counters() -> tuple[bytes, bytes]:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopCounter("wardgate_bytes", "Bytes relayed.", LABELS, ours)
    reference = Counter("wardgate_bytes", "Bytes relayed.", LABELS, registry=theirs)
    for family in (loop, reference):
        for direction, amounts in (("c2s", [15, 5]), ("s2c", [100, 4096, 1])):
            for amount in amounts:
                family.labels("pg", "postgres", direction).inc(amount)
        family.labels("my", "mysql", "c2s").inc()
    return generate_latest(ours), generate_latest(theirs)


def histograms() -> tuple[bytes, bytes]:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    loop = LoopHistogram("wardgate_decision_seconds", "Decide.", LABELS[:2], ours, LATENCY_BUCKETS)
    reference = Histogram(
        "wardgate_decision_seconds",
        "Decide.",
        LABELS[:2],
        buckets=LATENCY_BUCKETS,
        registry=theirs,
    )
    for family in (loop, reference):
        for value in OBSERVED:  # on, between and past the bounds
            family.labels("pg", "postgres").observe(value)
        family.labels("my", "mysql").observe(0.002)
    return generate_latest(ours), generate_latest(theirs)


def test_counter_exposition_is_prometheus_clients() -> None:
    ours, theirs = counters()
    assert ours == theirs
    assert b'wardgate_bytes_total{direction="s2c",protocol="postgres",resource="pg"} 4197.0' in ours


def test_histogram_exposition_is_prometheus_clients() -> None:
    ours, theirs = histograms()
    assert ours == theirs
    assert b'le="+Inf"' in ours
    assert b"wardgate_decision_seconds_created" in ours


def test_created_series_follow_prometheus_clients_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prometheus_metrics, "_use_created", False)
    (counter, counter_ref), (histogram, histogram_ref) = counters(), histograms()
    assert (counter, histogram) == (counter_ref, histogram_ref)
    assert b"_created" not in counter + histogram


def test_empty_families_expose_only_help_and_type() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    LoopCounter("wardgate_commands", "Commands.", ["kind"], ours)
    LoopHistogram("wardgate_added_latency_seconds", "Added.", ["kind"], ours, (0.1, 1.0))
    Counter("wardgate_commands", "Commands.", ["kind"], registry=theirs)
    Histogram(
        "wardgate_added_latency_seconds", "Added.", ["kind"], buckets=(0.1, 1), registry=theirs
    )
    assert generate_latest(ours) == generate_latest(theirs)


def test_labels_return_one_child_per_series_and_check_their_number() -> None:
    family = LoopCounter("wardgate_x", "X.", ["a", "b"], CollectorRegistry())
    child = family.labels("1", "2")
    assert family.labels("1", "2") is child
    assert family.labels(1, 2) is child  # type: ignore[arg-type]  # str() like prometheus_client
    assert family.labels(b="2", a="1") is child  # by name, like prometheus_client
    with pytest.raises(ValueError, match="expected labels"):
        family.labels("1")
    with pytest.raises(ValueError, match="expected labels"):
        family.labels(a="1")
    with pytest.raises(ValueError, match="expected labels"):
        family.labels("1", b="2")


def test_names_are_reserved_in_the_registry() -> None:
    registry = CollectorRegistry()
    LoopCounter("wardgate_bytes", "Bytes.", ["a"], registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Counter("wardgate_bytes", "Again.", ["a"], registry=registry)


def test_buckets_must_be_sorted() -> None:
    with pytest.raises(ValueError, match="sorted"):
        LoopHistogram("wardgate_h", "H.", [], CollectorRegistry(), (1.0, 0.5))


def test_a_scrape_in_another_thread_while_series_are_added() -> None:
    metrics = Metrics()
    done = threading.Event()
    scrapes: list[bytes] = []

    def scrape() -> None:
        while not done.is_set():
            scrapes.append(metrics.exposition())

    thread = threading.Thread(target=scrape)
    thread.start()
    try:
        for n in range(2000):
            metrics.bytes.labels(f"r{n}", "postgres", "c2s").inc(n)
            metrics.decision_seconds.labels(f"r{n}", "postgres").observe(0.001)
    finally:
        done.set()
        thread.join()
    assert scrapes
    final = metrics.exposition()
    assert b'wardgate_bytes_total{direction="c2s",protocol="postgres",resource="r1999"} 1999.0' in (
        final
    )
