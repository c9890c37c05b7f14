"""Lease renewal scheduling as pure functions of the lease and an injected `now`."""

from __future__ import annotations

import pytest

from wardgate.vault.schedule import (
    LeaseClock,
    Step,
    after_failed_renewal,
    after_renewal,
    plan,
    renew_at,
    shareable,
)

FRACTION, IDLE = 2 / 3, 30.0


def lease(ttl: float = 60.0, users: int = 1, **kw: object) -> LeaseClock:
    return LeaseClock(ttl=ttl, granted_at=100.0, granted=ttl, renewable=True, users=users, **kw)  # type: ignore[arg-type]


def step(clock: LeaseClock, now: float) -> tuple[Step, float]:
    result = plan(clock, now, fraction=FRACTION, idle_reuse=IDLE)
    return result.step, result.at


def test_renews_at_two_thirds_of_the_ttl() -> None:
    clock = lease()
    assert step(clock, 100.0) == (Step.WAIT, 140.0)
    assert step(clock, 139.9) == (Step.WAIT, 140.0)
    assert step(clock, 140.0) == (Step.RENEW, 140.0)
    after_renewal(clock, 140.0, 60)
    assert step(clock, 140.0) == (Step.WAIT, 180.0)
    assert not clock.capped


def test_a_short_grant_caps_the_lease() -> None:
    clock = lease()
    after_renewal(clock, 140.0, 20)  # max_ttl reached: only 20 s more
    assert clock.capped
    assert renew_at(clock, FRACTION) is None
    assert step(clock, 150.0) == (Step.WAIT, 160.0)  # nothing to do until it expires
    assert step(clock, 160.0) == (Step.FORGET, 160.0)
    assert not shareable(clock, 150.0)


def test_idle_leases_are_revoked_after_the_reuse_window() -> None:
    clock = lease(users=0, idle_since=110.0)
    assert step(clock, 110.0) == (Step.WAIT, 140.0)  # renewal comes first
    assert step(clock, 139.0) == (Step.WAIT, 140.0)
    assert step(clock, 140.0) == (Step.REVOKE, 140.0)  # idle deadline wins over renewal
    clock.users = 1
    clock.idle_since = None
    assert step(clock, 140.0) == (Step.RENEW, 140.0)


def test_failed_renewal_backs_off_but_not_past_expiry() -> None:
    clock = lease()
    after_failed_renewal(clock, 140.0)  # 20 s left: retry after 5 s
    assert clock.retry_at == pytest.approx(145.0)
    assert step(clock, 141.0) == (Step.WAIT, 145.0)
    assert step(clock, 145.0) == (Step.RENEW, 145.0)
    after_failed_renewal(clock, 159.5)
    assert clock.retry_at == pytest.approx(160.5)
    assert step(clock, 160.0) == (Step.FORGET, 160.0)


def test_non_renewable_leases_only_expire() -> None:
    clock = LeaseClock(ttl=60, granted_at=0, granted=60, renewable=False, users=1)
    assert step(clock, 50.0) == (Step.WAIT, 60.0)
    assert step(clock, 60.0) == (Step.FORGET, 60.0)


def test_a_lease_without_ttl_waits_forever_while_used() -> None:
    clock = LeaseClock(ttl=0, granted_at=0, granted=0, renewable=False, users=1)
    assert step(clock, 1e9) == (Step.WAIT, float("inf"))
    assert shareable(clock, 1e9)


def test_shareable_needs_a_third_of_the_ttl_left() -> None:
    clock = lease()
    assert shareable(clock, 100.0)
    assert shareable(clock, 140.0)
    assert not shareable(clock, 140.1)
