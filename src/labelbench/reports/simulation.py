"""Learning-curve chart of a simulation: found positives and target LOCO F1 against labels."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd


def _band(rows: pd.DataFrame, column: str) -> tuple[Any, Any, Any, Any]:
    """Per round: mean labels spent, and the mean and 95% t-band of ``column`` across seeds."""
    from scipy import stats

    g = rows.groupby("round")
    x = g["labels"].mean().to_numpy()
    mean, sd, n = g[column].mean(), g[column].std(ddof=1).fillna(0.0), g[column].count()
    half = (stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)).to_numpy()
    return x, mean.to_numpy(), mean.to_numpy() - half, mean.to_numpy() + half


def learning_curve_png(
    trajectory: pd.DataFrame, *, mode: str, random_per_100: float | None = None
) -> bytes:
    """Two panels: cumulative new positives and mean target LOCO F1, each vs labels spent.

    Every arm is a curve with its 95% band across runs; the ``oracle`` arm is drawn as the
    ceiling (dashed) and ``random_per_100`` (the pool's share of new positives) as the straight
    line pool-uniform random sampling follows on average (dotted).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    per_run = (
        trajectory.groupby(["strategy", "run", "round"])
        .agg(labels=("labelled", "sum"), found=("found", "sum"), f1=("f1", "mean"))
        .reset_index()
    )
    for strategy, rows in per_run.groupby("strategy"):
        oracle = strategy == "oracle"
        for ax, column in ((left, "found"), (right, "f1")):
            if oracle and column == "f1":
                continue  # the ceiling arm picks by the answer; its F1 says nothing
            kept = rows.dropna(subset=[column])
            if kept.empty:
                continue
            x, m, lo, hi = _band(kept, column)
            style = {"linestyle": "--", "color": "black"} if oracle else {"marker": "o"}
            label = "oracle (ceiling)" if oracle else str(strategy)
            (line,) = ax.plot(x, m, label=label, **style)
            if not oracle:
                ax.fill_between(x, np.maximum(lo, 0.0), hi, color=line.get_color(), alpha=0.2)
    if random_per_100 is not None and len(per_run):
        top = float(per_run["labels"].max())
        left.plot([0, top], [0, top * random_per_100 / 100], linestyle=":", color="grey",
                  label=f"pool-uniform random ({random_per_100:.1f} per 100)")  # fmt: skip
    left.set(xlabel="labels spent", ylabel="new positives found",
             title="New positives found (mean, 95% band over runs)")  # fmt: skip
    right.set(xlabel="labels spent", ylabel="mean LOCO F1 of target countries",
              title=f"Target F1 (oracle: {mode})")  # fmt: skip
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
