"""Kept fits: reused only for identical computations, identical numbers, never a failure.

The scenario is the one `retrain` meets: production evaluated itself (as the candidate) on the
sample table of its day; since then an analyst labelled a day that was no training row (a new
row of the table) and relabelled another. The kept fits, written and read back through the
file format, must give exactly the numbers of an evaluation without them.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
from worlds import TARGET, WORLD_COUNTRIES, signature_world

from labelbench.ml import foldcache
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.loco import LocoResult, loco_evaluate
from labelbench.ml.within_country import WithinPlan

SPEC = PipelineSpec(pipeline="stacked", engine="fast", base_params={"max_iter": 10})
PLAN = WithinPlan(countries=[TARGET, "KW"])


#: Label-independent group sizes, as `retrain` passes them (each country's samples).
SIZES = dict.fromkeys(WORLD_COUNTRIES, 120)


def _evaluate(X: pd.DataFrame, y: pd.Series, **kw: Any) -> LocoResult:
    return loco_evaluate(
        SPEC, X, y, y, n_boot=200, within=PLAN, stratified_folds=3, group_sizes=SIZES, **kw
    )


def _same(a: LocoResult, b: LocoResult) -> None:
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)
    pd.testing.assert_frame_equal(
        a.stratified_predictions, b.stratified_predictions, check_exact=True
    )
    assert a.within is not None and b.within is not None
    pd.testing.assert_frame_equal(a.within.predictions, b.within.predictions, check_exact=True)
    assert a.to_dict() | {"elapsed_seconds": 0, "cpu_seconds": 0} == b.to_dict() | {
        "elapsed_seconds": 0,
        "cpu_seconds": 0,
    }
    assert a.within.to_dict() == b.within.to_dict()


def test_kept_fits_give_identical_numbers_and_only_unchanged_fits_are_reused() -> None:
    w = signature_world(0)
    # Then: one OM day is not a training row yet (a candidate day nobody had labelled).
    new_day = w.hidden_positives[0]
    X_then = w.X.drop(index=new_day)
    y_then = w.incident.drop(index=new_day)
    kept_keys: set[str] = set()
    then_cache: dict[str, Any] = {}
    _evaluate(X_then, y_then, cache=then_cache, used=kept_keys)
    stored = foldcache.dump({k: then_cache[k] for k in kept_keys})
    # Now: the new day is labelled positive and a KW day relabelled.
    y_now = w.incident.copy()
    y_now.loc[new_day] = 1.0
    kw_day = w.X.index[(w.X["country"] == "KW") & (w.incident == 0)][5]
    y_now.loc[kw_day] = 1.0

    fresh = _evaluate(w.X, y_now)
    loaded = foldcache.load(stored)
    n_loaded = len(loaded)
    used_now: set[str] = set()
    reused = _evaluate(w.X, y_now, cache=loaded, used=used_now)
    _same(fresh, reused)
    # Every fit whose rows or labels changed was computed anew (the cache grew by exactly them).
    assert len(loaded) - n_loaded == len(used_now - kept_keys) > 0

    # Production's side: its own labels (the new day had none), scored on today's labels and
    # rows. Its fits that never saw the new day or the relabelled one are reused, same numbers.
    y_prod = y_then.reindex(w.X.index)
    prod_fresh = loco_evaluate(
        SPEC, w.X, y_prod, y_now, n_boot=200, within=PLAN, stratified_folds=3, group_sizes=SIZES
    )
    used_prod: set[str] = set()
    loaded = foldcache.load(stored)
    n_loaded = len(loaded)
    prod_cached = loco_evaluate(
        SPEC, w.X, y_prod, y_now, n_boot=200, within=PLAN, stratified_folds=3, group_sizes=SIZES,
        cache=loaded, used=used_prod,
    )  # fmt: skip
    _same(prod_fresh, prod_cached)
    reused_fits = used_prod & kept_keys
    assert len(reused_fits) > len(used_prod) / 2
    assert len(loaded) - n_loaded == len(used_prod - kept_keys) > 0  # OM's folds: refitted


def test_a_changed_feature_or_engine_setting_is_never_served_from_the_cache() -> None:
    w = signature_world(1)
    cache: dict[str, Any] = {}
    keys: set[str] = set()
    _evaluate(w.X, w.incident, cache=cache, used=keys)
    X2 = w.X.copy()
    X2.iloc[0, X2.columns.get_loc("anomaly_rate")] += 1e-9  # one row of one country
    keys2: set[str] = set()
    cached = _evaluate(X2, w.incident, cache=dict(cache), used=keys2)
    _same(_evaluate(X2, w.incident), cached)
    assert keys2 - keys  # the fits that saw (or score) that row are new keys
    other = PipelineSpec(pipeline="stacked", engine="fast", base_params={"max_iter": 11})
    keys3: set[str] = set()
    loco_evaluate(other, w.X, w.incident, w.incident, n_boot=0, stratified_folds=0, used=keys3)
    assert not keys3 & keys


def test_the_file_round_trips_exactly_without_row_positions() -> None:
    entries = {
        "a" * 64: {"test": np.arange(3), "p_base": np.array([0.1, 0.2, 0.3])},
        "b" * 64: np.array([0.5, 0.25]),
        "c" * 64: {"target": np.arange(2), "parts": np.ones((2, 3))},
    }
    back = foldcache.load(foldcache.dump(entries))
    assert set(back) == set(entries)
    np.testing.assert_array_equal(back["a" * 64]["p_base"], entries["a" * 64]["p_base"])
    assert "test" not in back["a" * 64] and "target" not in back["c" * 64]
    np.testing.assert_array_equal(back["b" * 64], entries["b" * 64])
    np.testing.assert_array_equal(back["c" * 64]["parts"], np.ones((2, 3)))


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"not a zip at all",
        lambda: _npz(p=np.array([0.1])),  # no format marker
        lambda: _npz(format=np.array(foldcache.FORMAT), **{"a|k": np.array(["x"])}),  # strings
        lambda: _npz(format=np.array(foldcache.FORMAT), **{"zz": np.array([1.0])}),
        lambda: _npz(format=np.array(foldcache.FORMAT), **{"a|k": np.array([{}], dtype=object)}),
    ],
)
def test_an_unusable_file_is_refused_without_running_anything(make: Any) -> None:
    with pytest.raises(foldcache.FoldCacheError):
        foldcache.load(make())


def _npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
