"""Promotion gates: the published v3.4 gates, noise-aware, configurable.

Gates are evaluated on a :class:`~labelbench.ml.evaluation.Comparison`. Without a production model
the two delta gates cannot be computed; they are reported as not applicable (``passed is None``)
and only the absolute LOCO-median gate decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labelbench.domain.constants import (
    GATE_LOCO_MEDIAN_F1,
    GATE_MAX_REGRESSION,
    GATE_WATCHLIST_MIN_DELTA,
    GATE_WATCHLIST_MIN_IMPROVED,
    WATCH_LIST,
)
from labelbench.ml.evaluation import Comparison

LOCO_MEDIAN = "loco_median_f1"
WATCH_LIST_GATE = "watch_list_improved"
MAX_REGRESSION = "max_regression"


@dataclass(frozen=True)
class GatePolicy:
    """Gate thresholds (published defaults).

    ``count_within_noise``: whether a watch-list improvement of at least ``watch_min_delta`` whose
    paired interval still contains 0 counts toward ``watch_min_improved`` (the published gate did
    not look at intervals, so it does by default; the detail always names those countries).
    """

    min_loco_median_f1: float = GATE_LOCO_MEDIAN_F1
    watch_list: tuple[str, ...] = WATCH_LIST
    watch_min_improved: int = GATE_WATCHLIST_MIN_IMPROVED
    watch_min_delta: float = GATE_WATCHLIST_MIN_DELTA
    max_regression: float = GATE_MAX_REGRESSION
    count_within_noise: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for reports and manifests)."""
        return {
            "min_loco_median_f1": self.min_loco_median_f1,
            "watch_list": list(self.watch_list),
            "watch_min_improved": self.watch_min_improved,
            "watch_min_delta": self.watch_min_delta,
            "max_regression": self.max_regression,
            "count_within_noise": self.count_within_noise,
        }


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome; ``passed`` is None when the gate is not applicable."""

    name: str
    value: float | None
    threshold: float
    passed: bool | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
        }


def gates_passed(results: list[GateResult]) -> bool:
    """True when no applicable gate failed."""
    return all(r.passed is not False for r in results)


def _pp(x: float) -> str:
    return f"{x * 100:+.1f}pp"


def evaluate_gates(comparison: Comparison, policy: GatePolicy | None = None) -> list[GateResult]:
    """Evaluate the absolute gate and (with a production model) the two delta gates."""
    policy = policy or GatePolicy()
    cand = comparison.candidate
    median = cand.loco_median_f1
    results = [
        GateResult(
            LOCO_MEDIAN,
            median,
            policy.min_loco_median_f1,
            bool(median >= policy.min_loco_median_f1),
            f"LOCO median F1 {median:.4f} over {cand.loco_countries} countries "
            f"(needs >= {policy.min_loco_median_f1:.2f})",
        )
    ]
    if not comparison.has_production:
        na = "not applicable: no production model to compare with"
        results.append(
            GateResult(WATCH_LIST_GATE, None, float(policy.watch_min_improved), None, na)
        )
        results.append(GateResult(MAX_REGRESSION, None, policy.max_regression, None, na))
        return results

    deltas = comparison.deltas
    improved = [
        c for c in policy.watch_list if c in deltas and deltas[c].delta >= policy.watch_min_delta
    ]
    noisy = [c for c in improved if not deltas[c].ci_low > 0]
    missing = [c for c in policy.watch_list if c not in deltas]
    counted = improved if policy.count_within_noise else [c for c in improved if c not in noisy]
    parts = [
        f"{len(counted)}/{len(policy.watch_list)} watch-list countries improved by "
        f">= {policy.watch_min_delta * 100:.0f}pp (needs {policy.watch_min_improved})",
    ]
    if improved:
        parts.append("improved: " + ", ".join(f"{c} {_pp(deltas[c].delta)}" for c in improved))
    if noisy:
        verb = "counted" if policy.count_within_noise else "not counted"
        parts.append(f"inside the noise interval ({verb}): {', '.join(noisy)}")
    if missing:
        parts.append(f"not evaluated: {', '.join(missing)}")
    results.append(
        GateResult(
            WATCH_LIST_GATE,
            float(len(counted)),
            float(policy.watch_min_improved),
            len(counted) >= policy.watch_min_improved,
            "; ".join(parts),
        )
    )

    big = {c: d for c, d in deltas.items() if not d.small_n}
    offenders = sorted(
        (c for c, d in big.items() if d.delta < -policy.max_regression),
        key=lambda c: deltas[c].delta,
    )
    small_drops = sorted(
        c for c, d in deltas.items() if d.small_n and d.delta < -policy.max_regression
    )
    worst = min((d.delta for d in big.values()), default=0.0)
    parts = [f"worst regression among {len(big)} countries with n >= small-n: {_pp(worst)}"]
    if offenders:
        parts.append("beyond limit: " + ", ".join(f"{c} {_pp(deltas[c].delta)}" for c in offenders))
    if small_drops:
        parts.append("small-n drops not gated (noise): " + ", ".join(small_drops))
    results.append(
        GateResult(MAX_REGRESSION, -worst, policy.max_regression, not offenders, "; ".join(parts))
    )
    return results
