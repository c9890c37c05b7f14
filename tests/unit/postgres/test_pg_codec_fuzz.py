"""Fuzzing seeded from the vectors: a decoder returns a message or raises ProtocolViolation.

Mutations (truncate, flip a byte, insert bytes, overwrite a slice, append) are applied
to the body of each known-good frame, which is then re-framed so the decoders see
every body. When a mutant decodes, re-encoding its fields must give back the exact
frame: the encodings are canonical, which is what lets a relay trust ``raw``.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pg_codec_vectors import BACKEND, FRONTEND, STARTUP

from wardgate_postgres.codec import (
    Frame,
    FrameSplitter,
    ProtocolViolation,
    datarow_values,
    decode_backend,
    decode_frontend,
    decode_startup,
)

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate(draw, data)
    return bytes(data)


def _mutate(draw: st.DrawFn, data: bytearray) -> bytearray:
    op = draw(st.sampled_from(["truncate", "flip", "insert", "overwrite", "append"]))
    at = draw(st.integers(0, len(data)))
    if op == "truncate":
        return data[:at]
    if op == "flip" and at < len(data):
        data[at] = draw(st.integers(0, 255))
        return data
    chunk = draw(st.binary(min_size=1, max_size=8))
    if op == "insert":
        return data[:at] + chunk + data[at:]
    if op == "overwrite":
        return data[:at] + chunk + data[at + len(chunk) :]
    return data + chunk


def _bodies(vectors: list[tuple[object, bytes]]) -> list[bytes]:
    return [wire for _, wire in vectors]


def _check_typed(decode: Callable[[Frame], object], wire: bytes) -> None:
    if not wire:
        return
    frame = Frame(wire[0], wire[5:])
    try:
        message = decode(frame)
    except ProtocolViolation:
        return
    assert message.encode() == frame.raw  # type: ignore[attr-defined]


@FUZZ
@given(mutated(_bodies(FRONTEND)))
def test_frontend_decoder_never_crashes(wire: bytes) -> None:
    _check_typed(decode_frontend, wire)


@FUZZ
@given(mutated(_bodies(BACKEND)))
def test_backend_decoder_never_crashes(wire: bytes) -> None:
    _check_typed(decode_backend, wire)


@FUZZ
@given(mutated(_bodies(STARTUP)))
def test_startup_decoder_never_crashes(packet: bytes) -> None:
    try:
        message = decode_startup(packet)
    except ProtocolViolation:
        return
    assert message.encode() == packet


@FUZZ
@given(mutated(_bodies(BACKEND)))
def test_datarow_fast_path_never_crashes(wire: bytes) -> None:
    try:
        datarow_values(wire[5:])
    except ProtocolViolation:
        pass


@FUZZ
@given(st.lists(mutated(_bodies(FRONTEND + BACKEND)), min_size=1, max_size=4))
def test_splitter_yields_frames_or_violation(chunks: list[bytes]) -> None:
    splitter = FrameSplitter(max_frame=1 << 16)
    seen = bytearray()
    try:
        for chunk in chunks:
            for frame in splitter.feed(chunk):
                assert Frame.from_raw(frame.raw) == frame
                seen += frame.raw
    except ProtocolViolation:
        return
    assert b"".join(chunks).startswith(bytes(seen))
    assert len(seen) + splitter.buffered() == sum(map(len, chunks))
