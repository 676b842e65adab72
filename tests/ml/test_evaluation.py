"""LOCO protocol: equality with scikit-learn's LOGO, no stacker leakage, thresholds, bootstrap."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml import estimators
from labelbench.ml.estimators import Engine, PipelineSpec, make_model
from labelbench.ml.evaluation import (
    bootstrap_f1_ci,
    classify_delta,
    compare,
    f1_optimal_threshold,
    loco_evaluate,
    paired_bootstrap_delta_ci,
    shrunk_threshold,
)

COUNTRIES = ["EG", "IR", "JO", "KW", "RU", "UZ", "AM", "CN", "FR", "DE", "BR", "US"]
FAST = {"max_iter": 10}


def samples(seed: int = 0, per_country: int = 25) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    n = per_country * len(COUNTRIES)
    y = (rng.random(n) < 0.35).astype(float)
    X = rng.normal(size=(n, len(FEATURES))) + y[:, None] * 0.8
    frame = pd.DataFrame(X, columns=list(FEATURES))
    frame.insert(0, "country", np.repeat(COUNTRIES, per_country))
    frame.index = pd.RangeIndex(100, 100 + n)  # a non-trivial index must survive
    return frame, pd.Series(y, index=frame.index)


def stacked_spec() -> PipelineSpec:
    return PipelineSpec(
        pipeline="stacked",
        engine="fast",
        base_params=FAST,
        head_params={"max_iter": 5},
        n_anchors=30,
        inner_folds=2,
    )


@pytest.mark.parametrize(("engine", "params"), [("fast", FAST), ("exact", {"n_estimators": 10})])
def test_base_loco_equals_sklearn_logo(engine: str, params: dict[str, Any]) -> None:
    X, y = samples()
    spec = PipelineSpec(engine=engine, base_params=params)
    res = loco_evaluate(spec, X, y, y, n_boot=50)
    ref = cross_val_predict(
        make_model(spec),
        X,
        y.astype(int),
        groups=X["country"],
        cv=LeaveOneGroupOut(),
        method="predict_proba",
    )[:, 1]
    ref_s = pd.Series(ref, index=X.index)
    preds = res.predictions
    np.testing.assert_allclose(preds["proba"], ref_s.loc[preds.index], rtol=0, atol=1e-12)
    assert res.loco_countries == len(COUNTRIES)
    for c, m in res.countries.items():
        rows = X["country"] == c
        yc, pc = y[rows].astype(int), ref_s[rows]
        assert m.f1 == pytest.approx(f1_score(yc, pc >= 0.5, zero_division=0))
        assert m.precision == pytest.approx(precision_score(yc, pc >= 0.5, zero_division=0))
        assert m.recall == pytest.approx(recall_score(yc, pc >= 0.5, zero_division=0))
        assert m.auc == pytest.approx(roc_auc_score(yc, pc))
        assert m.n == rows.sum() and m.positives == yc.sum()
    assert res.loco_median_f1 == pytest.approx(np.median([m.f1 for m in res.countries.values()]))


class Memorizer(ClassifierMixin, BaseEstimator):
    """Spy engine: feature 0 holds a country id; P(1) = 1 exactly for countries it trained on."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> Memorizer:
        self.seen_ = np.unique(X[:, 0])
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        p = np.isin(X[:, 0], self.seen_).astype(float)
        return np.column_stack([1 - p, p])


def test_stacker_never_sees_in_sample_predictions(monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = samples()
    ids = {c: i for i, c in enumerate(COUNTRIES)}
    X[FEATURES[0]] = X["country"].map(ids).astype(float)
    monkeypatch.setitem(estimators.ENGINES, "spy", Engine("spy", Memorizer))
    fits: list[tuple[np.ndarray, np.ndarray]] = []

    class SpyStacker(LogisticRegression):
        def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SpyStacker:
            fits.append((np.asarray(X).copy(), np.asarray(y).copy()))
            return super().fit(X, y, sample_weight)

    monkeypatch.setattr(estimators, "make_stacker", lambda params, rs: SpyStacker())
    # Control: fitted in-sample the spy reports 1 on every training row, so zeros mean "unseen".
    assert (
        Memorizer()
        .fit(X[list(FEATURES)].to_numpy(), y)
        .predict_proba(X[list(FEATURES)].to_numpy())[:, 1]
        == 1
    ).all()

    spec = PipelineSpec(pipeline="stacked", engine="spy", n_anchors=30, inner_folds=2)
    res = loco_evaluate(spec, X, y, y, n_boot=10)
    # Stratified folds are scheduled first: one standalone StackedClassifier.fit each.
    loco_fits = fits[5:]
    assert len(loco_fits) == res.loco_countries
    for Z, _ in fits:
        # Column 0 = base proba, the rest = gated head probas: all from models blind to the row.
        assert (Z == 0).all()
    # Each LOCO stacker was fitted on exactly the rows of the other countries.
    sizes = sorted(len(yz) for _, yz in loco_fits)
    assert sizes == sorted(len(X) - (X["country"] == c).sum() for c in res.countries)
    # The held-out country's own parts come from models that never saw it either.
    assert (res.predictions["proba_base"] == 0).all()
    assert (res.predictions["proba_cluster"].fillna(0) == 0).all()


def test_stacked_loco_parts_and_serialisation() -> None:
    X, y = samples()
    calls: list[tuple[int, int]] = []
    res = loco_evaluate(
        stacked_spec(), X, y, y, n_boot=100, progress=lambda d, t: calls.append((d, t))
    )
    assert calls[-1][0] == calls[-1][1] and len(calls) == calls[-1][1]
    preds = res.predictions
    assert set(preds.index) == set(X.index)
    np.testing.assert_array_equal(preds["proba"], preds["proba_stack"])
    no_cluster = preds["country"].isin(["FR", "DE", "BR", "US"])
    assert preds.loc[no_cluster, "proba_cluster"].isna().all()
    # CN is alone in its cluster: held out, its head has no training rows (NaN part, gate 0).
    assert preds.loc[~no_cluster & (preds["country"] != "CN"), "proba_cluster"].notna().all()
    assert preds.loc[preds["country"] == "CN", "proba_cluster"].isna().all()
    # Outer-fold base parts are exactly a standalone base fit on the other countries.
    train = X["country"] != "KW"
    base = estimators.fit_engine(
        "fast",
        "base",
        FAST,
        0,
        estimators.feature_matrix(X[train]),
        y[train].to_numpy().astype(int),
    )
    kw = preds[preds["country"] == "KW"]
    np.testing.assert_allclose(
        kw["proba_base"],
        estimators.positive_proba(base, estimators.feature_matrix(X.loc[kw.index])),
    )
    data = json.loads(json.dumps(res.to_dict(include_predictions=True)))
    for key in (
        "loco_median_f1",
        "loco_mean_f1",
        "stratified_f1",
        "stratified_auc",
        "loco_countries",
        "skipped",
    ):
        assert key in data
    per = data["countries"]["KW"]
    assert set(per) >= {
        "f1",
        "precision",
        "recall",
        "auc",
        "n",
        "positives",
        "ci_low",
        "ci_high",
        "small_n",
        "threshold",
        "f1_at_threshold",
    }
    assert per["small_n"] is True  # 25 < 30
    assert len(res.stratified_predictions) == len(X)


def test_train_and_eval_labels_are_separate_and_skips_are_explained() -> None:
    X, y = samples()
    y_train = y.copy()
    y_train[X["country"] == "JO"] = np.nan  # JO may not be trained on, but is scored
    y_eval = y.copy()
    y_eval[X["country"] == "FR"] = 0.0  # single class
    y_eval.iloc[(X["country"] == "DE").to_numpy().nonzero()[0][1:]] = np.nan  # one scored row
    y_eval[X["country"] == "BR"] = np.nan  # not scored at all
    res = loco_evaluate(
        PipelineSpec(engine="fast", base_params=FAST), X, y_train, y_eval, n_boot=10
    )
    assert "JO" in res.countries
    assert res.skipped["FR"].startswith("single class")
    assert res.skipped["DE"].startswith("too few samples")
    assert "BR" not in res.countries and "BR" not in res.skipped
    with pytest.raises(InputError):
        loco_evaluate(PipelineSpec(engine="fast"), X, y_train.to_numpy()[:-1], y_eval)
    with pytest.raises(InputError):
        loco_evaluate(PipelineSpec(engine="fast"), X, y_train * 2, y_eval)


def test_threshold_fitting_and_shrinkage() -> None:
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    assert f1_optimal_threshold(y, p) == pytest.approx(0.45)
    assert f1_optimal_threshold(np.zeros(3), np.array([0.1, 0.5, 0.9])) is None
    assert shrunk_threshold(0.2, 10, 0.5, 10) == pytest.approx(0.35)
    assert shrunk_threshold(0.2, 10, 0.5, 0) == pytest.approx(0.2)
    assert shrunk_threshold(None, 10, 0.5, 10) == 0.5
    assert shrunk_threshold(0.2, 10, 0.5, 1e9) == pytest.approx(0.5)

    X, y_s = samples()
    spec = PipelineSpec(engine="fast", base_params=FAST)
    shrunk = loco_evaluate(spec, X, y_s, y_s, n_boot=10, shrinkage_k=30)
    raw = loco_evaluate(spec, X, y_s, y_s, n_boot=10, shrinkage_k=0)
    frozen = loco_evaluate(spec, X, y_s, y_s, n_boot=10, shrinkage_k=1e12)
    t_glob = shrunk.thresholds.global_threshold
    preds = shrunk.predictions
    for c, m in shrunk.countries.items():
        rows = preds["country"] == c
        t_hat = f1_optimal_threshold(
            preds.loc[rows, "y"].to_numpy(), preds.loc[rows, "proba"].to_numpy()
        )
        assert m.threshold == pytest.approx(shrunk_threshold(t_hat, m.n, t_glob, 30))
        assert raw.countries[c].threshold == pytest.approx(t_hat)
        assert shrunk.thresholds.for_country(c) == m.threshold
        # Infinite shrinkage: every OOF threshold is the global one fitted without the country.
        others = preds["country"] != c
        t_other = f1_optimal_threshold(
            preds.loc[others, "y"].to_numpy(), preds.loc[others, "proba"].to_numpy()
        )
        fp = frozen.predictions
        assert t_other is not None
        np.testing.assert_allclose(fp.loc[fp["country"] == c, "threshold_oof"], t_other, atol=1e-6)
    assert shrunk.thresholds.for_country("ZZ") == t_glob


def test_bootstrap_ci_contains_estimate_and_narrows_with_n() -> None:
    rng = np.random.default_rng(1)

    def case(n: int) -> tuple[float, float, float]:
        y = rng.random(n) < 0.4
        pred = np.where(rng.random(n) < 0.8, y, ~y)
        f1 = f1_score(y, pred)
        lo, hi = bootstrap_f1_ci(y, pred, n_boot=1000, seed=0, key="XX")
        return f1, lo, hi

    f_small, lo_small, hi_small = case(25)
    f_big, lo_big, hi_big = case(2500)
    assert lo_small <= f_small <= hi_small
    assert lo_big <= f_big <= hi_big
    assert hi_big - lo_big < (hi_small - lo_small) / 4
    # Paired interval: identical predictions give exactly zero; it brackets the observed delta.
    y = rng.random(200) < 0.4
    a = np.where(rng.random(200) < 0.7, y, ~y)
    b = np.where(rng.random(200) < 0.9, y, ~y)
    assert paired_bootstrap_delta_ci(y, a, a, n_boot=200, seed=0) == (0.0, 0.0)
    lo, hi = paired_bootstrap_delta_ci(y, a, b, n_boot=500, seed=0)
    assert lo <= f1_score(y, b) - f1_score(y, a) <= hi and lo > 0


def test_classify_and_compare() -> None:
    assert classify_delta(0.10, 0.02, 0.2, 0.02) == "improved"
    assert classify_delta(0.10, -0.05, 0.2, 0.02) == "improved-within-noise"
    assert classify_delta(0.01, -0.05, 0.05, 0.02) == "flat"
    assert classify_delta(-0.10, -0.2, 0.03, 0.02) == "regressed-within-noise"
    assert classify_delta(-0.10, -0.2, -0.01, 0.02) == "regressed"

    X, y = samples()
    prod = loco_evaluate(
        PipelineSpec(engine="fast", base_params={"max_iter": 3}), X, y, y, n_boot=10
    )
    cand = loco_evaluate(
        PipelineSpec(engine="fast", base_params={"max_iter": 30}), X, y, y, n_boot=10
    )
    same = compare(prod, prod, n_boot=100)
    assert all(d.delta == 0 and d.status == "flat" for d in same.deltas.values())
    cmp = compare(prod, cand, n_boot=300, seed=3)
    assert set(cmp.deltas) == set(COUNTRIES) and not cmp.unmatched
    for c, d in cmp.deltas.items():
        assert d.delta == pytest.approx(cand.countries[c].f1 - prod.countries[c].f1)
        assert d.ci_low <= d.delta <= d.ci_high
        assert d.status == classify_delta(d.delta, d.ci_low, d.ci_high, 0.02)
    json.dumps(cmp.to_dict())
    first = compare(None, cand)
    assert not first.has_production and not first.deltas
    y_other = y.copy()
    y_other.iloc[0] = 1 - y_other.iloc[0]
    other = loco_evaluate(
        PipelineSpec(engine="fast", base_params={"max_iter": 3}), X, y, y_other, n_boot=10
    )
    with pytest.raises(InputError):
        compare(other, cand)


def test_parallel_workers_give_identical_results() -> None:
    X, y = samples()
    one = loco_evaluate(stacked_spec(), X, y, y, n_boot=50, n_jobs=1)
    two = loco_evaluate(stacked_spec(), X, y, y, n_boot=50, n_jobs=2)
    pd.testing.assert_frame_equal(one.predictions, two.predictions)
    assert one.to_dict()["countries"] == two.to_dict()["countries"]
