"""Promotion gates on hand-built comparisons: pass, fail, noise-aware counting, no production."""

from __future__ import annotations

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
    return {r.name: r for r in results}


def test_all_gates_pass() -> None:
    deltas = [delta(c, 0.05) for c in WATCH_LIST[:10]] + [delta(c, 0.0) for c in WATCH_LIST[10:]]
    results = evaluate_gates(comparison(deltas))
    assert [r.name for r in results] == [LOCO_MEDIAN, WATCH_LIST_GATE, MAX_REGRESSION]
    assert all(r.passed for r in results) and gates_passed(results)
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
    assert "small-n drops not gated" in reg.detail and "PK" in reg.detail
    assert not gates_passed(list(results.values()))


def test_small_n_regressions_do_not_fail_the_regression_gate() -> None:
    deltas = [delta(c, 0.05) for c in WATCH_LIST[:10]] + [delta("AM", -0.15, n=18)]
    results = by_name(evaluate_gates(comparison(deltas)))
    assert results[MAX_REGRESSION].passed is True


def test_noise_aware_watch_list_counting() -> None:
    noisy = [delta(c, 0.06, ci=(-0.1, 0.2)) for c in WATCH_LIST[:4]]
    solid = [delta(c, 0.06, ci=(0.01, 0.1)) for c in WATCH_LIST[4:10]]
    comp = comparison(noisy + solid)
    default = by_name(evaluate_gates(comp))[WATCH_LIST_GATE]
    assert default.passed is True and "inside the noise interval (counted)" in default.detail
    for c in WATCH_LIST[:4]:
        assert c in default.detail.split("inside the noise interval")[1]
    strict = by_name(evaluate_gates(comp, GatePolicy(count_within_noise=False)))[WATCH_LIST_GATE]
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
    for name in (WATCH_LIST_GATE, MAX_REGRESSION):
        assert results[name].passed is None and "not applicable" in results[name].detail
    assert gates_passed(list(results.values()))
    failing = by_name(evaluate_gates(Comparison(None, result(0.8), {}, [], 0.02, 100, 0)))
    assert failing[LOCO_MEDIAN].passed is False
    assert failing[LOCO_MEDIAN].to_dict()["threshold"] == 0.85
