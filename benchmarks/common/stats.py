"""Interleaved schedules and summaries of repeated measurements.

Interleaving (A, B, C, A, B, C, …) rather than running each target's rounds back to
back spreads slow drifts of the machine — other tenants, CPU frequency, the page
cache — over every target instead of charging them to whichever ran last. Ratios are
given two ways: of the means, and the median of per-round ratios (round i of one
target against round i of the other, which ran a few seconds apart).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence


def interleaved(targets: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round number from 1, target) in the order the rounds run."""
    for number in range(1, rounds + 1):
        for target in targets:
            yield number, target


def summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "mean": round(statistics.fmean(values), 3),
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "stdev": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0,
    }


def ratio(numerator: Sequence[float], denominator: Sequence[float]) -> dict[str, float]:
    """Ratio of the means and the median of the paired per-round ratios."""
    if not numerator or not denominator or min(denominator) <= 0:
        return {}
    paired = [a / b for a, b in zip(numerator, denominator, strict=False)]
    return {
        "of_means": round(statistics.fmean(numerator) / statistics.fmean(denominator), 3),
        "median_paired": round(statistics.median(paired), 3),
        "min_paired": round(min(paired), 3),
        "max_paired": round(max(paired), 3),
    }
