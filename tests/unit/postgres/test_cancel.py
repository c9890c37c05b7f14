"""`CancelRegistry`: wardgate-issued backend keys and the upstream they stand for."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from wardgate_postgres.cancel import CancelRegistry, CancelTarget

TARGET = CancelTarget(process_id=4242, secret_key=-123456, host="10.0.0.5", port=5432)
OTHER = CancelTarget(process_id=4242, secret_key=99, host="10.0.0.6", port=5432)
INT32 = struct.Struct("!ii")  # BackendKeyData / CancelRequest carry two Int32s


def test_issued_key_maps_back_to_its_target() -> None:
    registry = CancelRegistry()
    pid, secret = registry.issue(TARGET)
    assert registry.lookup(pid, secret) is TARGET
    assert len(registry) == 1


def test_issued_keys_fit_the_wire_and_hide_the_upstream_key() -> None:
    registry = CancelRegistry()
    for _ in range(500):
        pid, secret = registry.issue(TARGET)
        assert INT32.unpack(INT32.pack(pid, secret)) == (pid, secret)
        assert pid > 0
        assert (pid, secret) != (TARGET.process_id, TARGET.secret_key)


@pytest.mark.parametrize(
    "forge",
    [lambda s: s ^ 1, lambda s: s ^ (1 << 30), lambda s: -s - 1],
    ids=["low-bit", "high-bits", "complement"],
)
def test_forged_secret_cancels_nothing(forge: Callable[[int], int]) -> None:
    registry = CancelRegistry()
    pid, secret = registry.issue(TARGET)
    forged = forge(secret)
    assert forged != secret
    assert registry.lookup(pid, forged) is None
    assert registry.lookup(pid, secret) is TARGET  # a failed guess does not revoke the key


def test_unknown_pid_cancels_nothing() -> None:
    registry = CancelRegistry()
    pid, secret = registry.issue(TARGET)
    assert registry.lookup(1 if pid != 1 else 2, secret) is None
    assert CancelRegistry().lookup(pid, secret) is None


def test_upstream_key_itself_is_not_accepted() -> None:
    registry = CancelRegistry()
    registry.issue(TARGET)
    # the client only ever sees wardgate's key; the real one cancels nothing here
    assert registry.lookup(TARGET.process_id, TARGET.secret_key) is None


def test_forget_removes_the_key() -> None:
    registry = CancelRegistry()
    pid, secret = registry.issue(TARGET)
    other_pid, other_secret = registry.issue(OTHER)
    registry.forget(pid)
    assert registry.lookup(pid, secret) is None
    assert registry.lookup(other_pid, other_secret) is OTHER
    assert len(registry) == 1
    registry.forget(pid)  # forgetting twice is harmless
    registry.forget(other_pid)
    assert len(registry) == 0


def test_keys_unique_across_many_issues() -> None:
    registry = CancelRegistry()
    targets = [
        CancelTarget(process_id=n, secret_key=n, host="127.0.0.1", port=5432) for n in range(2000)
    ]
    keys = [registry.issue(target) for target in targets]
    assert len({pid for pid, _ in keys}) == len(keys)
    assert len(registry) == len(keys)
    for (pid, secret), target in zip(keys, targets, strict=True):
        assert registry.lookup(pid, secret) is target


def test_pid_collision_draws_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([6, 6, 6, 9])
    monkeypatch.setattr("wardgate_postgres.cancel.secrets.randbelow", lambda _: next(draws))
    registry = CancelRegistry()
    first, _ = registry.issue(TARGET)
    second, _ = registry.issue(OTHER)
    assert (first, second) == (7, 10)


def test_same_upstream_backend_twice_gets_distinct_keys() -> None:
    registry = CancelRegistry()
    first = registry.issue(TARGET)
    second = registry.issue(TARGET)
    assert first != second
    assert registry.lookup(*first) is TARGET
    assert registry.lookup(*second) is TARGET


def test_unix_socket_target_round_trips() -> None:
    target = CancelTarget(1, 2, host="", port=5432, unix_path="/run/postgresql/.s.PGSQL.5432")
    registry = CancelRegistry()
    assert registry.lookup(*registry.issue(target)) == target
