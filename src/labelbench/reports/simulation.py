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


def learning_curve_png(trajectory: pd.DataFrame, *, mode: str) -> bytes:
    """Two panels: cumulative new positives and mean target LOCO F1, each vs labels spent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    per_run = (
        trajectory.groupby(["strategy", "seed", "round"])
        .agg(labels=("labelled", "sum"), found=("found", "sum"), f1=("f1", "mean"))
        .reset_index()
    )
    for strategy, rows in per_run.groupby("strategy"):
        for ax, column, floor in ((left, "found", 0.0), (right, "f1", 0.0)):
            x, m, lo, hi = _band(rows, column)
            (line,) = ax.plot(x, m, marker="o", label=str(strategy))
            ax.fill_between(x, np.maximum(lo, floor), hi, color=line.get_color(), alpha=0.2)
    left.set(xlabel="labels spent", ylabel="new positives found",
             title="Positives found (mean, 95% band over seeds)")  # fmt: skip
    right.set(xlabel="labels spent", ylabel="mean LOCO F1 of target countries",
              title=f"Target LOCO F1 (oracle: {mode})")  # fmt: skip
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
