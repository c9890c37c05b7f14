"""Bar charts of per-target results, one panel per metric, one dot per round.

matplotlib is optional (the ``bench`` extra: ``pip install -e '.[bench]'``); without
it `bar_panels` draws nothing and returns a message saying how to get the plot.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

Panel = tuple[str, Mapping[str, Sequence[float]]]  # (y label, {bar label: per-round values})


def bar_panels(path: Path, title: str, panels: Sequence[Panel]) -> str:
    """Write a PNG to `path`; returns a line for the console either way."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install -e '.[bench]')"
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (label, values) in zip(axes[0], panels, strict=True):
        _panel(ax, list(values), label, values)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path}"


def _panel(
    ax: Any, targets: Sequence[str], label: str, values: Mapping[str, Sequence[float]]
) -> None:
    means = [statistics.fmean(values[t]) if values.get(t) else 0.0 for t in targets]
    positions = range(len(targets))
    bars = ax.bar(positions, means, color="#8fb3d9", edgecolor="#3d6a99")
    for x, target in enumerate(targets):
        rounds = values.get(target, ())
        ax.plot([x] * len(rounds), rounds, "o", color="#1f3d5c", markersize=4)
    ax.bar_label(
        bars,
        labels=[f"{m:,.0f}" if m >= 100 else f"{m:.3g}" for m in means],
        label_type="center",
        fontsize=8,
    )
    ax.set_xticks(list(positions), list(targets))
    ax.set_ylabel(label)
    ax.grid(axis="y", alpha=0.3)
