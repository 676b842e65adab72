"""Estimators: sklearn conventions, the stacked recipe's structure, the spec round trip."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError, ModelError
from labelbench.ml.estimators import (
    BoostedClassifier,
    PipelineSpec,
    StackedClassifier,
    make_model,
    spec_of,
)

FAST_BASE = {"max_iter": 10}
FAST_HEAD = {"max_iter": 5}
COUNTRIES = ["EG", "IR", "JO", "KW", "RU", "UZ", "AM", "CN", "FR", "DE", "BR", "US"]


def samples(seed: int = 0, per_country: int = 25) -> tuple[pd.DataFrame, np.ndarray]:
    """Twelve countries (MENA, Post-Soviet, East Asia, and no cluster), both classes each."""
    rng = np.random.default_rng(seed)
    n = per_country * len(COUNTRIES)
    y = (rng.random(n) < 0.35).astype(int)
    X = rng.normal(size=(n, len(FEATURES))) + y[:, None] * 0.8
    frame = pd.DataFrame(X, columns=list(FEATURES))
    frame.insert(0, "country", np.repeat(COUNTRIES, per_country))
    return frame, y


def stacked_spec(**kw: Any) -> PipelineSpec:
    return PipelineSpec(
        pipeline="stacked",
        engine="fast",
        base_params=FAST_BASE,
        head_params=FAST_HEAD,
        n_anchors=30,
        **kw,
    )


@pytest.mark.parametrize(
    "estimator",
    [
        BoostedClassifier(engine="exact", params={"n_estimators": 5}),
        BoostedClassifier(engine="fast", params={"max_iter": 5}),
    ],
    ids=["exact", "fast"],
)
def test_base_estimator_passes_check_estimator(estimator: BoostedClassifier) -> None:
    check_estimator(estimator, on_skip=None)


def test_stacked_is_clone_safe_and_keeps_params_untouched() -> None:
    model = make_model(stacked_spec())
    params = model.get_params()
    twin = clone(model)
    assert twin.get_params() == params
    X, y = samples()
    model.fit(X, y)
    assert model.get_params() == params  # fit never rewrites hyper-parameters
    assert not hasattr(clone(model), "stacker_")


def test_stacked_parts_route_by_country() -> None:
    X, y = samples()
    model = make_model(stacked_spec()).fit(X, y)
    parts = model.predict_parts(X)
    assert list(parts.columns) == ["proba_base", "proba_cluster", "proba_stack"]
    assert parts.index.equals(X.index)
    outside = X["country"].isin(["FR", "DE", "BR", "US"]).to_numpy()
    assert parts["proba_cluster"][outside].isna().all()
    assert parts["proba_cluster"][~outside].between(0, 1).all()
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], parts["proba_stack"])
    assert set(model.stacker_coefficients()) == {"base_proba", *model.clusters_}
    # Same spec, same data: same model.
    again = make_model(stacked_spec()).fit(X, y).predict_parts(X)
    pd.testing.assert_frame_equal(parts, again)


def test_stacked_needs_country_and_features() -> None:
    X, y = samples()
    with pytest.raises(InputError):
        StackedClassifier(engine="fast").fit(X.drop(columns="country"), y)
    with pytest.raises(InputError):
        make_model(stacked_spec()).fit(X.drop(columns=FEATURES[3]), y)
    with pytest.raises(ModelError):
        make_model(stacked_spec()).fit(X, np.zeros(len(X), dtype=int))


def test_negative_anchor_labels_option() -> None:
    X, y = samples()
    parts = make_model(stacked_spec(anchor_labels="negative")).fit(X, y).predict_parts(X)
    assert parts["proba_stack"].between(0, 1).all()


def test_base_model_ignores_routing_columns() -> None:
    X, y = samples()
    model = make_model(PipelineSpec(engine="fast", base_params=FAST_BASE)).fit(X, y)
    plain = BoostedClassifier(engine="fast", params=FAST_BASE).fit(X[list(FEATURES)], y)
    np.testing.assert_array_equal(model.predict_proba(X), plain.predict_proba(X[list(FEATURES)]))
    assert model.predict_parts(X)["proba_stack"].isna().all()


def test_spec_round_trip_and_validation() -> None:
    spec = stacked_spec(random_state=7)
    data = json.loads(json.dumps(spec.to_dict()))
    assert PipelineSpec.from_dict(data) == spec
    assert spec_of(make_model(spec)) == spec
    assert spec_of(make_model(PipelineSpec())) == PipelineSpec()
    with pytest.raises(InputError):
        PipelineSpec.from_dict({**data, "bogus": 1})
    with pytest.raises(InputError):
        PipelineSpec(engine="nope")
    with pytest.raises(InputError):
        PipelineSpec(pipeline="nope")
    with pytest.raises(ModelError):
        spec_of(object())
