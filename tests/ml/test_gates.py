"""Promotion gates on hand-built comparisons: pass, fail, symmetric noise rules, pooled watch
list, advisory serving-threshold gates, no production."""

from __future__ import annotations

import numpy as np
import pandas as pd

from labelbench.domain.constants import WATCH_LIST
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.evaluation import (
    Comparison,
    CountryDelta,
    CountryMetrics,
    LocoResult,
    ServingThresholds,
    classify_delta,
)
from labelbench.ml.gates import (
    LOCO_MEDIAN,
    MAX_REGRESSION,
    POOLED_LOCO,
    POOLED_WITHIN,
    SERVING,
    WATCH_LIST_GATE,
    GatePolicy,
    GateResult,
    evaluate_gates,
    gates_passed,
)


def result(median: float) -> LocoResult:
    metrics = {
        "IR": CountryMetrics("IR", 40, 10, median, 0.9, 0.8, 0.9, 0.7, 0.95, False, 0.5, median)
    }
    return LocoResult(
        spec=PipelineSpec(),
        countries=metrics,
        skipped={},
        loco_median_f1=median,
        loco_mean_f1=median,
        stratified_f1=0.7,
        stratified_auc=0.9,
        predictions=pd.DataFrame(),
        stratified_predictions=pd.DataFrame(),
        thresholds=ServingThresholds(),
        n_boot=10,
        seed=0,
        small_n=30,
    )


def delta(
    country: str, d: float, *, n: int = 40, ci: tuple[float, float] | None = None
) -> CountryDelta:
    lo, hi = ci if ci is not None else (d - 0.02, d + 0.02)
    return CountryDelta(
        country, n, n < 30, 0.5, 0.5 + d, d, lo, hi, classify_delta(d, lo, hi, 0.02)
    )


def comparison(deltas: list[CountryDelta], median: float = 0.9) -> Comparison:
    return Comparison(
        result(0.86), result(median), {d.country: d for d in deltas}, [], 0.02, 100, 0
    )


def by_name(results: list[GateResult]) -> dict[str, GateResult]:
    return {r.name: r for r in results if not r.advisory}


def test_all_gates_pass() -> None:
    deltas = [delta(c, 0.05) for c in WATCH_LIST[:10]] + [delta(c, 0.0) for c in WATCH_LIST[10:]]
    results = evaluate_gates(comparison(deltas))
    decisive = [LOCO_MEDIAN, WATCH_LIST_GATE, MAX_REGRESSION, POOLED_LOCO]
    assert [r.name for r in results] == decisive + [n + SERVING for n in decisive]
    assert [r.advisory for r in results] == [False] * 4 + [True] * 4
    applicable = [r for r in results if not r.advisory and r.passed is not None]
    assert all(r.passed for r in applicable) and gates_passed(results)
    assert by_name(results)[WATCH_LIST_GATE].value == 10


def test_failures_are_reported_with_detail() -> None:
    deltas = [delta(c, 0.05) for c in WATCH_LIST[:9]] + [
        delta("US", -0.08),
        delta("PK", -0.20, n=13),
    ]
    results = by_name(evaluate_gates(comparison(deltas, median=0.84)))
    assert results[LOCO_MEDIAN].passed is False
    assert results[WATCH_LIST_GATE].passed is False and results[WATCH_LIST_GATE].value == 9
    reg = results[MAX_REGRESSION]
    assert reg.passed is False and "US" in reg.detail
    assert "PK" in reg.detail.split("beyond limit")[1]  # small n is not exempt
    assert not gates_passed(list(results.values()))


def test_regressions_count_only_when_their_interval_excludes_zero() -> None:
    """Symmetric with improvements: any n, but the interval must be below 0."""
    noisy = delta("AM", -0.15, n=18, ci=(-0.4, 0.1))
    solid = delta("KW", -0.15, n=13, ci=(-0.3, -0.02))
    base = [delta(c, 0.05) for c in WATCH_LIST[:10] if c not in ("AM", "KW")]
    ok = by_name(evaluate_gates(comparison([*base, noisy])))[MAX_REGRESSION]
    assert ok.passed is True and "inside the noise interval (not counted): AM" in ok.detail
    bad = by_name(evaluate_gates(comparison([*base, noisy, solid])))[MAX_REGRESSION]
    assert bad.passed is False and "KW" in bad.detail.split("beyond limit")[1]


def test_advisory_gates_never_block_and_pooled_gate_needs_predictions() -> None:
    deltas = [delta(c, 0.05) for c in WATCH_LIST[:10]]
    comp = comparison(deltas)
    comp.serving_deltas = {d.country: delta(d.country, -0.2, ci=(-0.3, -0.1)) for d in deltas}
    results = evaluate_gates(comp)
    serving = {r.name: r for r in results if r.advisory}
    assert serving[MAX_REGRESSION + SERVING].passed is False
    assert "advisory" in serving[MAX_REGRESSION + SERVING].detail
    assert gates_passed(results)  # advisory failures do not block
    # Hand-built results carry no predictions: the pooled gate is not applicable, not passed.
    assert by_name(results)[POOLED_LOCO].passed is None
    assert POOLED_WITHIN not in by_name(results)


def test_noise_aware_watch_list_counting() -> None:
    noisy = [delta(c, 0.06, ci=(-0.1, 0.2)) for c in WATCH_LIST[:4]]
    solid = [delta(c, 0.06, ci=(0.01, 0.1)) for c in WATCH_LIST[4:10]]
    comp = comparison(noisy + solid)
    lenient = by_name(evaluate_gates(comp, GatePolicy(count_within_noise=True)))[WATCH_LIST_GATE]
    assert lenient.passed is True and "inside the noise interval (counted)" in lenient.detail
    for c in WATCH_LIST[:4]:
        assert c in lenient.detail.split("inside the noise interval")[1]
    strict = by_name(evaluate_gates(comp))[WATCH_LIST_GATE]  # the default: symmetric
    assert strict.passed is False and strict.value == 6
    assert "not evaluated" in strict.detail


def test_policy_thresholds_are_configurable() -> None:
    comp = comparison([delta(c, 0.05) for c in WATCH_LIST[:3]], median=0.80)
    policy = GatePolicy(min_loco_median_f1=0.75, watch_min_improved=3, max_regression=0.10)
    assert gates_passed(evaluate_gates(comp, policy))
    assert policy.to_dict()["watch_min_improved"] == 3


def test_without_production_only_the_absolute_gate_applies() -> None:
    first = Comparison(None, result(0.9), {}, [], 0.02, 100, 0)
    results = by_name(evaluate_gates(first))
    assert results[LOCO_MEDIAN].passed is True
    for name in (WATCH_LIST_GATE, MAX_REGRESSION, POOLED_LOCO):
        assert results[name].passed is None and "not applicable" in results[name].detail
    assert gates_passed(list(results.values()))
    failing = by_name(evaluate_gates(Comparison(None, result(0.8), {}, [], 0.02, 100, 0)))
    assert failing[LOCO_MEDIAN].passed is False
    assert failing[LOCO_MEDIAN].to_dict()["threshold"] == 0.85


def test_pooled_watch_list_gate_sees_a_group_drop_no_country_shows_alone() -> None:
    """Six small countries each lose one positive: none alone is significant, the pool is."""
    rows = []
    for c in WATCH_LIST[:6]:
        for d in range(40):
            y = int(d % 5 == 0)
            rows.append({"country": c, "day": np.datetime64("2026-01-01") + d, "y": y})
    frame = pd.DataFrame(rows)
    good = frame.assign(proba=np.where(frame["y"] == 1, 0.9, 0.1), threshold_oof=0.5)
    worse = good.copy()
    for c in WATCH_LIST[:6]:  # miss 3 of each country's 8 positives
        hit = worse.index[(worse["country"] == c) & (worse["y"] == 1)][:3]
        worse.loc[hit, "proba"] = 0.2
    comp = comparison([delta(c, 0.0) for c in WATCH_LIST[:10]])
    assert comp.production is not None
    comp.production.predictions = good
    comp.candidate.predictions = worse
    results = evaluate_gates(comp, within_frames=(good, good))
    pooled = by_name(results)[POOLED_LOCO]
    assert pooled.passed is False and pooled.value is not None and pooled.value < -0.05
    assert "regressed" in pooled.detail
    assert by_name(results)[POOLED_WITHIN].passed is True  # identical within-country frames
