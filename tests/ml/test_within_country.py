"""Within-country evaluation: time blocks, no test-block leak into any fit, scoring."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from worlds import TARGET, signature_world

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml import estimators
from labelbench.ml.estimators import Engine, PipelineSpec
from labelbench.ml.loco import loco_evaluate
from labelbench.ml.within_country import WithinPlan, time_blocks, within_country_evaluate

FAST = PipelineSpec(engine="fast", base_params={"max_iter": 10})


def _days(offsets: list[int]) -> np.ndarray:
    return np.datetime64("2026-01-01") + np.array(offsets)


def test_time_blocks_are_contiguous_and_never_split_an_episode() -> None:
    days = _days(list(range(100)))
    positive = np.zeros(100, dtype=bool)
    positive[18:23] = True  # an episode right where a 5-way quantile cut (at 20) would fall
    ids = time_blocks(days, 5, positive=positive)
    assert ids.max() == 4 and (np.diff(ids) >= 0).all()  # contiguous, in time order
    assert len(set(ids[17:24])) == 1  # the episode (and its neighbours) in one block
    for b in range(5):
        span = days[ids == b]
        assert (span[-1] - span[0]).astype(int) + 1 >= 14
    # Sparse days: cuts between non-adjacent days are always allowed.
    sparse = _days([0, 30, 31, 60, 90, 120])
    assert time_blocks(sparse, 3).max() == 2
    # Too short to give two 14-day blocks: one block.
    assert (time_blocks(_days(list(range(20))), 5) == 0).all()


class RowSpy:
    """Spy engine: feature 0 holds a row id. P(1) = row id / 1e6 for rows it did not train on,
    -1 for rows it did; so any in-sample score is visible as a negative number."""

    def __init__(self, random_state: int = 0, **_: Any) -> None:
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> RowSpy:
        self.seen_ = set(X[:, 0].tolist())
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        seen = np.array([x in self.seen_ for x in X[:, 0]])
        p = np.where(seen, -1.0, X[:, 0] / 1e6)
        return np.column_stack([1 - p, p])


def test_no_test_block_row_reaches_any_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    w = signature_world(0, days=90)
    X = w.X.copy()
    X[FEATURES[0]] = X.index.to_numpy(dtype=float)  # the row id the spy reads
    y = w.incident
    monkeypatch.setitem(estimators.ENGINES, "spy", Engine("spy", RowSpy))
    pairs: list[tuple[set[float], set[float]]] = []

    class SpyStacker(LogisticRegression):
        def fit(self, Z: Any, y: Any, sample_weight: Any = None) -> SpyStacker:
            Z = np.asarray(Z)
            assert (Z[:, 0] >= 0).all(), "a stacker input came from a model that saw its row"
            self.train_ids_ = set(np.round(Z[:, 0] * 1e6).tolist())
            return super().fit(Z, y, sample_weight)

        def predict_proba(self, Z: Any) -> np.ndarray:
            pairs.append((self.train_ids_, set(np.round(np.asarray(Z)[:, 0] * 1e6).tolist())))
            return super().predict_proba(Z)

    monkeypatch.setattr(estimators, "make_stacker", lambda params, rs: SpyStacker())
    spec = PipelineSpec(pipeline="stacked", engine="spy", n_anchors=30, inner_folds=2)
    plan = WithinPlan(countries=[TARGET, "KW", "IR"])
    res = loco_evaluate(spec, X, y, y, n_boot=10, stratified_folds=0, within=plan)
    within = res.within
    assert within is not None and set(within.countries) == {TARGET, "KW", "IR"}
    preds = within.predictions
    assert len(preds) == (X["country"].isin([TARGET, "KW", "IR"])).sum()
    # Base and cluster head that scored a test block never saw it (a seen row would be -1)...
    assert (preds["proba_base"] >= 0).all() and (preds["proba_cluster"] >= 0).all()
    np.testing.assert_allclose(preds["proba_base"], preds.index.to_numpy() / 1e6)
    # ...and no stacker was fitted on a row it then scored (LOCO and within-country folds alike).
    assert len(pairs) == res.loco_countries + sum(m.blocks for m in within.countries.values())
    for train_ids, test_ids in pairs:
        assert not train_ids & test_ids
    # The country's other blocks are in training: its block-b stacker saw its other blocks' rows.
    om_rows = set(X.index[X["country"] == TARGET].astype(float))
    assert any(len(train_ids & om_rows) > 0 for train_ids, _ in pairs)


def test_scores_evaluability_and_serving_thresholds() -> None:
    w = signature_world(1)
    y = w.incident.copy()
    y[(w.X["country"] == "DE") & (y == 1)] = np.nan  # DE: no positives left
    y[y.index[(w.X["country"] == "KW") & (w.incident == 1)][2:]] = np.nan  # KW: 2 positives
    res = within_country_evaluate(FAST, w.X, y, y, WithinPlan(), n_boot=200)
    assert "positives" in res.not_evaluable["DE"] and "has 0" in res.not_evaluable["DE"]
    assert not res.countries["KW"].evaluable and "has 2" in res.countries["KW"].reason
    ir = res.countries["IR"]
    assert (
        ir.evaluable
        and ir.n == 120
        and ir.positives == int(w.incident[w.X["country"] == "IR"].sum())
    )
    assert ir.f1_ci[0] <= ir.f1 <= ir.f1_ci[1] and 0 <= ir.pr_auc <= 1
    assert ir.blocks == 5
    frame = res.frame(y)
    ir_rows = frame[frame["country"] == "IR"]
    # One serving threshold per block, fitted on the other blocks only.
    assert ir_rows.groupby("block")["threshold_oof"].nunique().eq(1).all()
    d = res.to_dict()["IR"]
    assert set(d) >= {"f1", "f1_ci", "pr_auc", "n", "positives", "evaluable"}
    with pytest.raises(InputError, match="day"):
        within_country_evaluate(FAST, w.X.drop(columns="day"), y, y)


def test_within_sees_own_labels_that_loco_cannot() -> None:
    """Only OM's own labels can teach OM's signature: LOCO stays blind, within-country does not."""
    w = signature_world(0)
    truth = w.truth
    res = loco_evaluate(FAST, w.X, truth, truth, n_boot=50, within=WithinPlan(countries=[TARGET]))
    assert res.within is not None
    assert res.within.countries[TARGET].f1 > res.countries[TARGET].f1 + 0.3


def test_forward_mode_scores_later_blocks_only() -> None:
    w = signature_world(2)
    y = w.truth
    res = within_country_evaluate(FAST, w.X, y, y, WithinPlan(countries=["IR"], forward=True))
    assert res.predictions["block"].min() == 1
    first = w.X.index[(w.X["country"] == "IR")][:5]
    assert not set(first) & set(res.predictions.index)
    assert isinstance(res.predictions, pd.DataFrame)
