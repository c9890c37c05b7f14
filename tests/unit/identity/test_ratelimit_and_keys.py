"""The refresh limiter and the key cache, with an injected clock and a fake fetcher."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from joserfc.jwk import KeySet, RSAKey

from wardgate.identity.jwks import KeyCache, KeyFetchError
from wardgate.identity.ratelimit import MinIntervalLimiter

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_one_attempt_per_interval() -> None:
    clock = Clock()
    limiter = MinIntervalLimiter(10, clock)
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    clock.now += 9.9
    assert not limiter.try_acquire()
    assert limiter.remaining() == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.try_acquire()
    assert limiter.remaining() == 10


def test_limiter_with_zero_interval_always_allows() -> None:
    limiter = MinIntervalLimiter(0, Clock())
    assert all(limiter.try_acquire() for _ in range(5))


def key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


K1, K2 = key("k1"), key("k2")


class FakeSource:
    def __init__(self, *sets: list[RSAKey] | Exception) -> None:
        self.sets = list(sets)
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> KeySet:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        item = self.sets[min(self.calls, len(self.sets)) - 1]
        if isinstance(item, Exception):
            raise item
        return KeySet(item)  # type: ignore[arg-type]


def cache(source: FakeSource, clock: Clock, **kw: Any) -> KeyCache:
    observed: list[tuple[str, str]] = []
    kw.setdefault("min_refresh_interval", 10)
    result = KeyCache(source, clock=clock, observe=lambda o, d: observed.append((o, d)), **kw)
    result.observed = observed  # type: ignore[attr-defined]
    return result


def test_known_kid_is_answered_without_fetching() -> None:
    source, clock = FakeSource([K1]), Clock()
    keys = cache(source, clock)

    async def scenario() -> None:
        await keys.prefetch()
        for _ in range(5):
            assert await keys.key_set("k1") is keys.keys
        assert source.calls == 1

    run(scenario())


def test_unknown_kid_refetches_once_per_interval() -> None:
    source, clock = FakeSource([K1], [K1, K2]), Clock()
    keys = cache(source, clock)

    async def scenario() -> None:
        await keys.prefetch()
        assert not keys.knows("k2")
        await keys.key_set("k2")  # inside the interval: no fetch
        assert source.calls == 1
        assert not keys.knows("k2")
        clock.now += 10
        await keys.key_set("k2")
        assert source.calls == 2
        assert keys.knows("k2")
        for _ in range(20):
            await keys.key_set("forged")
        assert source.calls == 2

    run(scenario())


def test_concurrent_unknown_kids_share_one_fetch() -> None:
    source, clock = FakeSource([K1, K2]), Clock()
    keys = cache(source, clock, min_refresh_interval=0)

    async def scenario() -> None:
        source.gate = asyncio.Event()
        waiters = [asyncio.ensure_future(keys.key_set("k2")) for _ in range(10)]
        await asyncio.sleep(0)
        source.gate.set()
        await asyncio.gather(*waiters)
        assert source.calls == 1
        assert keys.knows("k2")

    run(scenario())


def test_a_failed_fetch_keeps_the_cached_keys() -> None:
    source, clock = FakeSource([K1], KeyFetchError("HTTP 503")), Clock()
    keys = cache(source, clock)

    async def scenario() -> None:
        await keys.prefetch()
        clock.now += 11
        await keys.key_set("k2")
        assert source.calls == 2
        assert keys.knows("k1")
        assert keys.observed == [("ok", "1 keys"), ("error", "HTTP 503")]  # type: ignore[attr-defined]

    run(scenario())


def test_stale_keys_refresh_in_the_background() -> None:
    source, clock = FakeSource([K1], [K1, K2]), Clock()
    keys = cache(source, clock, max_age=60, min_refresh_interval=0)

    async def scenario() -> None:
        await keys.prefetch()
        clock.now += 61
        assert await keys.key_set("k1") is not None  # answered from cache at once
        await asyncio.sleep(0.01)
        assert source.calls == 2
        assert keys.knows("k2")

    run(scenario())


def test_no_keys_at_all() -> None:
    keys = cache(FakeSource(KeyFetchError("down")), Clock())
    assert run(keys.key_set("k1")) is None
    assert not keys.knows(None)
