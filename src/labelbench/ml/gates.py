"""Promotion gates: the published v3.4 gates, symmetric about noise, configurable.

Gates are evaluated on a :class:`~labelbench.ml.comparison.Comparison`. The published thresholds
are kept (LOCO median F1 >= 0.85; >= 10 of the 16 watch-list countries improve by >= 3pp; no
country regresses by more than 5pp), and judged symmetrically: an improvement counts only when its
paired interval excludes 0, exactly like a regression. Small-n countries are not exempt: the watch
list is also gated as one pooled group (pooled LOCO F1 and, when evaluated, pooled within-country
F1, each with a paired week bootstrap), where a handful of positives per country add up.

The decisive gates are scored at 0.5 (the published protocol); the same gates at the serving
thresholds are reported beside them as advisory (``advisory=True``, never block promotion).
Without a production model the delta gates are not applicable (``passed is None``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from labelbench.domain.constants import (
    GATE_LOCO_MEDIAN_F1,
    GATE_MAX_REGRESSION,
    GATE_WATCHLIST_MIN_DELTA,
    GATE_WATCHLIST_MIN_IMPROVED,
    WATCH_LIST,
)
from labelbench.ml.comparison import At, Comparison, CountryDelta, PooledDelta, pooled_delta

LOCO_MEDIAN = "loco_median_f1"
WATCH_LIST_GATE = "watch_list_improved"
MAX_REGRESSION = "max_regression"
POOLED_LOCO = "watch_list_pooled_loco"
POOLED_WITHIN = "watch_list_pooled_within"
SERVING = "@serving"


@dataclass(frozen=True)
class GatePolicy:
    """Gate thresholds (published defaults).

    ``count_within_noise``: whether a watch-list improvement of at least ``watch_min_delta`` whose
    paired interval still contains 0 counts toward ``watch_min_improved``. Off by default: an
    improvement counts only when its interval excludes 0, as a regression does (the detail always
    names the countries inside the noise).
    """

    min_loco_median_f1: float = GATE_LOCO_MEDIAN_F1
    watch_list: tuple[str, ...] = WATCH_LIST
    watch_min_improved: int = GATE_WATCHLIST_MIN_IMPROVED
    watch_min_delta: float = GATE_WATCHLIST_MIN_DELTA
    max_regression: float = GATE_MAX_REGRESSION
    count_within_noise: bool = False

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
    advisory: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "detail": self.detail,
            "advisory": self.advisory,
        }


def gates_passed(results: list[GateResult]) -> bool:
    """True when no applicable decisive gate failed (advisory gates never block)."""
    return all(r.passed is not False for r in results if not r.advisory)


def _pp(x: float) -> str:
    return f"{x * 100:+.1f}pp"


def evaluate_gates(
    comparison: Comparison,
    policy: GatePolicy | None = None,
    *,
    within_frames: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[GateResult]:
    """Every gate at 0.5 (decisive), then again at the serving thresholds (advisory).

    ``within_frames`` are the production and candidate within-country predictions scored on the
    current labels (:meth:`~labelbench.ml.within_country.WithinCountryResult.frame`), for the
    pooled within-country watch-list gate.
    """
    policy = policy or GatePolicy()
    cand = comparison.candidate
    out: list[GateResult] = []
    for at in ("0.5", "serving"):
        rule: At = at
        suffix = "" if at == "0.5" else SERVING
        if at == "0.5":
            median = cand.loco_median_f1
        else:
            median = float(pd.Series([m.f1_at_threshold for m in cand.countries.values()]).median())
        gates = [
            GateResult(
                LOCO_MEDIAN,
                median,
                policy.min_loco_median_f1,
                bool(median >= policy.min_loco_median_f1),
                f"LOCO median F1 {median:.4f} over {cand.loco_countries} countries "
                f"(needs >= {policy.min_loco_median_f1:.2f}; at {_rule(at)})",
            )
        ]
        if not comparison.has_production:
            na = "not applicable: no production model to compare with"
            gates += [
                GateResult(WATCH_LIST_GATE, None, float(policy.watch_min_improved), None, na),
                GateResult(MAX_REGRESSION, None, policy.max_regression, None, na),
                GateResult(POOLED_LOCO, None, policy.max_regression, None, na),
            ]
        else:
            deltas = comparison.deltas if at == "0.5" else (comparison.serving_deltas or {})
            gates += [_watch_gate(deltas, policy), _regression_gate(deltas, policy)]
            assert comparison.production is not None
            pooled = _pooled(
                comparison.production.predictions, cand.predictions, policy, rule, n_boot, seed
            )
            gates.append(_pooled_gate(POOLED_LOCO, "LOCO", pooled, policy))
            if within_frames is not None:
                pw = _pooled(*within_frames, policy, rule, n_boot, seed)
                gates.append(_pooled_gate(POOLED_WITHIN, "within-country", pw, policy))
        out += [
            replace(g, name=g.name + suffix, advisory=at != "0.5", detail=_at(g.detail, at))
            for g in gates
        ]
    return out


def _rule(at: str) -> str:
    return "0.5" if at == "0.5" else "the serving thresholds"


def _at(detail: str, at: str) -> str:
    if at == "0.5" or "at the serving" in detail:
        return detail
    return f"{detail} [at the serving thresholds; advisory]"


def _watch_gate(deltas: dict[str, CountryDelta], policy: GatePolicy) -> GateResult:
    improved = [
        c for c in policy.watch_list if c in deltas and deltas[c].delta >= policy.watch_min_delta
    ]
    noisy = [c for c in improved if not deltas[c].ci_low > 0]
    missing = [c for c in policy.watch_list if c not in deltas]
    counted = improved if policy.count_within_noise else [c for c in improved if c not in noisy]
    parts = [
        f"{len(counted)}/{len(policy.watch_list)} watch-list countries improved by "
        f">= {policy.watch_min_delta * 100:.0f}pp with an interval above 0 "
        f"(needs {policy.watch_min_improved})",
    ]
    if improved:
        parts.append("improved: " + ", ".join(f"{c} {_pp(deltas[c].delta)}" for c in improved))
    if noisy:
        verb = "counted" if policy.count_within_noise else "not counted"
        parts.append(f"inside the noise interval ({verb}): {', '.join(noisy)}")
    if missing:
        parts.append(f"not evaluated: {', '.join(missing)}")
    return GateResult(
        WATCH_LIST_GATE,
        float(len(counted)),
        float(policy.watch_min_improved),
        len(counted) >= policy.watch_min_improved,
        "; ".join(parts),
    )


def _regression_gate(deltas: dict[str, CountryDelta], policy: GatePolicy) -> GateResult:
    """No country regresses by more than the limit with an interval below 0 (small-n included)."""
    drops = {c: d for c, d in deltas.items() if d.delta < -policy.max_regression}
    offenders = sorted(
        (c for c, d in drops.items() if d.ci_high < 0), key=lambda c: deltas[c].delta
    )
    noisy = sorted(c for c in drops if c not in offenders)
    worst = min((d.delta for d in deltas.values()), default=0.0)
    parts = [f"worst drop among {len(deltas)} countries: {_pp(worst)}"]
    if offenders:
        parts.append("beyond limit: " + ", ".join(f"{c} {_pp(deltas[c].delta)}" for c in offenders))
    if noisy:
        parts.append("drops inside the noise interval (not counted): " + ", ".join(noisy))
    return GateResult(
        MAX_REGRESSION, -worst, policy.max_regression, not offenders, "; ".join(parts)
    )


def _pooled(
    production: pd.DataFrame,
    candidate: pd.DataFrame,
    policy: GatePolicy,
    at: At,
    n_boot: int,
    seed: int,
) -> PooledDelta | None:
    if "country" not in production.columns or "country" not in candidate.columns:
        return None
    return pooled_delta(
        production, candidate, policy.watch_list, at=at, n_boot=n_boot, seed=seed, key="watch"
    )


def _pooled_gate(
    name: str, what: str, pooled: PooledDelta | None, policy: GatePolicy
) -> GateResult:
    """The watch list as one group: fails on a pooled drop beyond the limit, interval below 0."""
    if pooled is None or pooled.positives == 0:
        return GateResult(name, None, policy.max_regression, None, f"not applicable: no {what} "
                          "predictions for watch-list countries")  # fmt: skip
    failed = pooled.delta < -policy.max_regression and pooled.ci_high < 0
    if pooled.ci_low > 0:
        word = "improved"
    elif pooled.ci_high < 0:
        word = "regressed"
    else:
        word = "no detectable change"
    detail = (
        f"pooled {what} F1 over {len(pooled.countries)} watch-list countries "
        f"({pooled.n} days, {pooled.positives} positives): {pooled.production_f1:.3f} -> "
        f"{pooled.candidate_f1:.3f}, {_pp(pooled.delta)} [{_pp(pooled.ci_low)}, "
        f"{_pp(pooled.ci_high)}] ({word}; fails on a drop beyond "
        f"{policy.max_regression * 100:.0f}pp with its interval below 0)"
    )
    return GateResult(name, pooled.delta, policy.max_regression, not failed, detail)
