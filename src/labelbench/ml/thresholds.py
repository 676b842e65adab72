"""Decision thresholds: the F1-optimal cut, shrinkage toward the global one, serving thresholds.

Per-country thresholds fitted on a country's own handful of labels overfit (the v3.4 write-up's
"+4pp without retraining" was fitted in-sample), so every per-country threshold is shrunk toward
the global one by ``(n * t_hat + k * t_global) / (n + k)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelbench.domain.constants import SMALL_N


def f1_optimal_threshold(y: NDArray[Any], p: NDArray[Any]) -> float | None:
    """Threshold maximising F1 of ``p >= t`` (midpoint between scores); None without positives."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    n_pos = y.sum()
    if len(y) == 0 or n_pos == 0:
        return None
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1.0 - ys)
    # Only cut between distinct scores (ties must fall on the same side).
    cut = np.append(ps[:-1] > ps[1:], True)
    f1 = np.where(cut, 2 * tp / (tp + fp + n_pos), -1.0)
    i = int(np.argmax(f1))
    return float(ps[i] if i == len(ps) - 1 else (ps[i] + ps[i + 1]) / 2)


def shrunk_threshold(t_hat: float | None, n: int, t_global: float, k: float) -> float:
    """``(n * t_hat + k * t_global) / (n + k)``; the global threshold if ``t_hat`` is undefined."""
    if t_hat is None or n + k <= 0:
        return t_global
    return (n * t_hat + k * t_global) / (n + k)


@dataclass
class ServingThresholds:
    """Per-country decision thresholds fitted on all LOCO OOF predictions, shrunk to the global."""

    global_threshold: float = 0.5
    per_country: dict[str, float] = field(default_factory=dict)
    shrinkage_k: float = float(SMALL_N)

    def for_country(self, country: str) -> float:
        """The country's threshold, the global one for countries never evaluated."""
        return self.per_country.get(country, self.global_threshold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "global_threshold": self.global_threshold,
            "per_country": dict(self.per_country),
            "shrinkage_k": self.shrinkage_k,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServingThresholds:
        """Inverse of :meth:`to_dict`."""
        return cls(
            global_threshold=float(data["global_threshold"]),
            per_country={str(k): float(v) for k, v in data["per_country"].items()},
            shrinkage_k=float(data["shrinkage_k"]),
        )
