"""When to renew, revoke or forget a lease — pure functions of the lease and `now`.

Theory of operation. A lease is renewed when `renew_fraction` (default 2/3) of
the TTL granted at its last renewal has passed, asking for its original TTL
again. When Vault grants less than asked (the role's `max_ttl` is near) the
lease is *capped*: it is not renewed again and new sessions stop joining it. A
lease nobody uses is revoked once it has been idle for `idle_reuse` seconds; a
lease past its expiry is gone in Vault already and is only forgotten. A failed
renewal is retried after `retry_delay`, but never later than the point where the
remaining lifetime would run out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MIN_RETRY = 1.0
MAX_RETRY = 30.0


class Step(enum.Enum):
    WAIT = "wait"
    RENEW = "renew"
    REVOKE = "revoke"
    FORGET = "forget"  # expired: nothing left to revoke


@dataclass(slots=True)
class LeaseClock:
    """The timing facts of one lease, in the pool's monotonic clock."""

    ttl: float  # the TTL asked for at each renewal (the first grant)
    granted_at: float  # when the current grant started
    granted: float  # seconds granted then
    renewable: bool
    users: int = 0
    idle_since: float | None = None
    capped: bool = False
    retry_at: float | None = None  # a failed renewal waits until then

    @property
    def expires_at(self) -> float:
        return self.granted_at + self.granted


@dataclass(frozen=True, slots=True)
class Plan:
    step: Step
    at: float  # when to act (for WAIT: when to look again)


def renew_at(lease: LeaseClock, fraction: float) -> float | None:
    if not lease.renewable or lease.capped or lease.granted <= 0:
        return None
    due = lease.granted_at + lease.granted * fraction
    return max(due, lease.retry_at) if lease.retry_at is not None else due


def idle_deadline(lease: LeaseClock, idle_reuse: float) -> float | None:
    if lease.users > 0 or lease.idle_since is None:
        return None
    return lease.idle_since + idle_reuse


def plan(lease: LeaseClock, now: float, *, fraction: float, idle_reuse: float) -> Plan:
    """The next thing to do for a lease, and when."""
    if lease.granted > 0 and now >= lease.expires_at:
        return Plan(Step.FORGET, now)
    idle = idle_deadline(lease, idle_reuse)
    if idle is not None and now >= idle:
        return Plan(Step.REVOKE, now)
    renew = renew_at(lease, fraction)
    if renew is not None and now >= renew:
        return Plan(Step.RENEW, now)
    candidates = [t for t in (idle, renew) if t is not None]
    if lease.granted > 0:
        candidates.append(lease.expires_at)
    return Plan(Step.WAIT, min(candidates) if candidates else float("inf"))


def after_renewal(lease: LeaseClock, now: float, granted: int) -> None:
    """Record a successful renewal; a short grant caps the lease."""
    lease.granted_at, lease.granted, lease.retry_at = now, float(granted), None
    if granted < lease.ttl * 0.9:
        lease.capped = True


def after_failed_renewal(lease: LeaseClock, now: float) -> None:
    remaining = lease.expires_at - now
    lease.retry_at = now + min(MAX_RETRY, max(MIN_RETRY, remaining / 4))


def shareable(lease: LeaseClock, now: float) -> bool:
    """Whether a new session may join: not capped and at least a third of its TTL left."""
    if lease.capped:
        return False
    if lease.granted <= 0:
        return True
    return lease.expires_at - now >= lease.ttl / 3
