"""scikit-learn estimators for the v3.3 (base) and v3.4 (stacked) censorship classifier recipes.

Design decision — how country and cluster reach the model
--------------------------------------------------------
``X`` is a DataFrame holding the 16 :data:`~labelbench.domain.constants.FEATURES` plus a
``country`` column (other columns such as ``day`` or ``fingerprint`` are ignored). The trees only
ever see the 16 features; ``country`` is routing information. Cluster membership is *not* a column:
it is a hyper-parameter of the model (``clusters``, default
:data:`~labelbench.domain.constants.DEFAULT_CLUSTERS`) because the heads are defined by it. So the
manifest records it, serving needs nothing but the country, and a sample can never be routed to a
head that was trained for another definition of its cluster. Keeping everything inside ``X`` (rather
than metadata routing of ``groups``) keeps the estimators usable with plain ``cross_val_predict``,
``clone`` and joblib pickling.

:class:`BoostedClassifier` (the v3.3 base, and each cluster head) also accepts a bare numeric
array, which is what makes it pass ``check_estimator``. :class:`StackedClassifier` needs the
``country`` column, so the generic ``check_estimator`` suite (numpy inputs without countries) does
not apply to it; its own tests cover clone-safety and fitted-attribute conventions instead.

Engines: ``exact`` is ``GradientBoostingClassifier`` with scikit-learn defaults (the production
recipe); ``fast`` is ``HistGradientBoostingClassifier`` shaped like it (depth-3 trees, half the
rounds at twice the learning rate, no early stopping, hence deterministic). Further engines can be
registered with :func:`register_engine` (tests use this to inject spies).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from labelbench.domain.constants import DEFAULT_CLUSTERS, FEATURES
from labelbench.errors import InputError, ModelError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
Role = Literal["base", "head"]
PIPELINES: tuple[str, ...] = ("base", "stacked")
ANCHOR_LABELS: tuple[str, ...] = ("observed", "negative")
PART_COLUMNS: tuple[str, ...] = ("proba_base", "proba_cluster", "proba_stack")


# --------------------------------------------------------------------------- engines
@dataclass(frozen=True)
class Engine:
    """A gradient-boosting implementation plus the defaults that make it follow the recipe."""

    name: str
    factory: Callable[..., Any]
    base_defaults: Mapping[str, Any] = field(default_factory=dict)
    head_defaults: Mapping[str, Any] = field(default_factory=dict)

    def build(self, role: Role, params: Mapping[str, Any] | None, random_state: int) -> Any:
        """An unfitted classifier for ``role``; explicit ``params`` override the defaults."""
        defaults = self.base_defaults if role == "base" else self.head_defaults
        merged = {**defaults, **(params or {})}
        merged.setdefault("random_state", random_state)
        return self.factory(**merged)


ENGINES: dict[str, Engine] = {
    # Production v3.3: GradientBoostingClassifier defaults; heads as published (depth 3, 50 trees).
    "exact": Engine(
        "exact",
        GradientBoostingClassifier,
        base_defaults={},
        head_defaults={"max_depth": 3, "n_estimators": 50},
    ),
    # Histogram GBM shaped like the exact recipe (depth-3 trees = at most 8 leaves), with half the
    # boosting rounds at twice the learning rate: on the demo world its LOCO median F1 stays within
    # 0.01 of exact (see benchmarks/bench_loco.py) at ~1/10 of the CPU. No early stopping: it
    # would hold out a random slice and break determinism.
    "fast": Engine(
        "fast",
        HistGradientBoostingClassifier,
        base_defaults={
            "max_iter": 50,
            "learning_rate": 0.2,
            "max_depth": 3,
            "max_leaf_nodes": 8,
            "min_samples_leaf": 5,
            "early_stopping": False,
        },
        head_defaults={
            "max_iter": 25,
            "learning_rate": 0.2,
            "max_depth": 3,
            "max_leaf_nodes": 8,
            "min_samples_leaf": 5,
            "early_stopping": False,
        },
    ),
}


def register_engine(engine: Engine) -> None:
    """Make ``engine`` selectable by name in a :class:`PipelineSpec` (plugins, test spies)."""
    ENGINES[engine.name] = engine


def get_engine(name: str) -> Engine:
    """The registered engine called ``name`` (``InputError`` listing the known ones otherwise)."""
    try:
        return ENGINES[name]
    except KeyError:
        raise InputError(f"unknown engine {name!r}; known: {', '.join(sorted(ENGINES))}") from None


class _Constant:
    """Stands in for a model whose training labels held a single class (a tiny cluster, say)."""

    def __init__(self, p: float) -> None:
        self.p = p

    def positive_proba(self, n: int) -> FloatArray:
        return np.full(n, self.p, dtype=np.float64)


def fit_engine(
    engine: str,
    role: Role,
    params: Mapping[str, Any] | None,
    random_state: int,
    X: FloatArray,
    y: NDArray[Any],
) -> Any:
    """Fit one engine model on a numeric matrix; a single-class ``y`` yields a constant model."""
    labels = np.unique(y)
    if labels.size < 2:
        return _Constant(float(labels[0]) if labels.size else 0.0)
    return get_engine(engine).build(role, params, random_state).fit(X, y)


def positive_proba(model: Any, X: FloatArray) -> FloatArray:
    """P(class 1) from a fitted engine model or a :class:`_Constant`."""
    if isinstance(model, _Constant):
        return model.positive_proba(X.shape[0])
    proba = np.asarray(model.predict_proba(X), dtype=np.float64)
    classes = list(model.classes_)
    return proba[:, classes.index(1)] if 1 in classes else np.zeros(X.shape[0])


# --------------------------------------------------------------------------- data helpers
def feature_matrix(X: pd.DataFrame) -> FloatArray:
    """The 16 features of ``X`` as float64, in production order (``InputError`` if missing)."""
    missing = [f for f in FEATURES if f not in X.columns]
    if missing:
        raise InputError(f"samples lack feature columns: {', '.join(missing)}")
    return X.loc[:, list(FEATURES)].to_numpy(dtype=np.float64)


def countries_of(X: pd.DataFrame) -> NDArray[np.object_]:
    """The ``country`` column as an object array (``InputError`` if absent)."""
    if not isinstance(X, pd.DataFrame) or "country" not in X.columns:
        raise InputError("the stacked pipeline needs a DataFrame with a 'country' column")
    return X["country"].astype(str).to_numpy(dtype=object)


def cluster_codes(
    countries: NDArray[np.object_], clusters: Mapping[str, tuple[str, ...]]
) -> IntArray:
    """Index of each country's cluster in ``clusters`` order, -1 for countries in none."""
    lookup = {c: i for i, members in enumerate(clusters.values()) for c in members}
    return np.fromiter((lookup.get(c, -1) for c in countries), dtype=np.intp, count=len(countries))


def _binary_labels(y: Any) -> NDArray[np.int64]:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or np.isnan(arr).any() or not np.isin(arr, (0.0, 1.0)).all():
        raise InputError("training labels must be 0/1 without missing values")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- heads
def fit_heads(
    X: FloatArray,
    y: NDArray[np.int64],
    codes: IntArray,
    *,
    n_clusters: int,
    engine: str,
    params: Mapping[str, Any] | None,
    n_anchors: int,
    anchor_labels: str,
    random_state: int,
    only: Collection[int] | None = None,
) -> list[Any | None]:
    """One head per cluster: the cluster's rows plus ``n_anchors`` random out-of-cluster rows.

    Anchors are drawn with ``default_rng([random_state, cluster])`` over the positions of the
    out-of-cluster rows of *this* training set, so refitting on the same rows reproduces the same
    head (LOCO relies on that). ``only`` restricts fitting to the heads that will be asked for
    predictions (the others stay None), which saves most head fits in cross-validation.
    Clusters without training rows get None (their gated input is 0, their part NaN).
    """
    heads: list[Any | None] = [None] * n_clusters
    for k in range(n_clusters):
        if only is not None and k not in only:
            continue
        inside = np.flatnonzero(codes == k)
        if inside.size == 0:
            continue
        outside = np.flatnonzero(codes != k)
        rng = np.random.default_rng([random_state, k])
        anchors = np.sort(rng.choice(outside, size=min(n_anchors, outside.size), replace=False))
        rows = np.concatenate([inside, anchors])
        y_head = y[rows].copy()
        if anchor_labels == "negative":
            y_head[inside.size :] = 0
        heads[k] = fit_engine(engine, "head", params, random_state, X[rows], y_head)
    return heads


def own_head_proba(heads: list[Any | None], X: FloatArray, codes: IntArray) -> FloatArray:
    """Each row's own-cluster head probability (NaN outside every cluster or without a head)."""
    out = np.full(X.shape[0], np.nan)
    for k, head in enumerate(heads):
        rows = np.flatnonzero(codes == k)
        if head is not None and rows.size:
            out[rows] = positive_proba(head, X[rows])
    return out


def stack_inputs(
    p_base: FloatArray, p_head: FloatArray, codes: IntArray, n_clusters: int
) -> FloatArray:
    """Stacker design matrix: base proba, then one gated column per cluster (0 off-cluster)."""
    Z = np.zeros((p_base.shape[0], 1 + n_clusters))
    Z[:, 0] = p_base
    rows = np.flatnonzero((codes >= 0) & ~np.isnan(p_head))
    Z[rows, 1 + codes[rows]] = p_head[rows]
    return Z


def make_stacker(params: Mapping[str, Any] | None, random_state: int) -> LogisticRegression:
    """The v3.4 stacking head (module-level so tests can spy on what it is fitted with)."""
    merged = {"max_iter": 1000, "solver": "newton-cholesky", **(params or {})}
    merged.setdefault("random_state", random_state)
    return LogisticRegression(**merged)


# --------------------------------------------------------------------------- estimators
class BoostedClassifier(ClassifierMixin, BaseEstimator):
    """The v3.3 base model (``role='base'``) or one cluster head (``role='head'``).

    Takes a DataFrame (the 16 features are selected by name, routing columns ignored) or a numeric
    array (used as is, which is what ``check_estimator`` feeds it).
    """

    def __init__(
        self,
        engine: str = "exact",
        params: Mapping[str, Any] | None = None,
        role: Role = "base",
        random_state: int = 0,
    ) -> None:
        self.engine = engine
        self.params = params
        self.role = role
        self.random_state = random_state

    def _matrix(self, X: Any) -> Any:
        if isinstance(X, pd.DataFrame) and ("country" in X.columns or FEATURES[0] in X.columns):
            missing = [f for f in FEATURES if f not in X.columns]
            if missing:
                raise InputError(f"samples lack feature columns: {', '.join(missing)}")
            return X.loc[:, list(FEATURES)]
        return X

    def fit(self, X: Any, y: Any) -> Self:
        """Fit the engine on the features of ``X``."""
        Xv, yv = validate_data(self, self._matrix(X), y)
        check_classification_targets(yv)
        self.classes_ = unique_labels(yv)
        self.model_ = get_engine(self.engine).build(self.role, self.params, self.random_state)
        self.model_.fit(Xv, yv)
        return self

    def predict_proba(self, X: Any) -> FloatArray:
        """Class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self)
        Xv = validate_data(self, self._matrix(X), reset=False)
        return np.asarray(self.model_.predict_proba(Xv), dtype=np.float64)

    def predict(self, X: Any) -> NDArray[Any]:
        """Most probable class."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])

    def predict_parts(self, X: pd.DataFrame) -> pd.DataFrame:
        """Same frame as :meth:`StackedClassifier.predict_parts`; only ``proba_base`` is set."""
        check_is_fitted(self)
        proba = self.predict_proba(X)
        classes = list(self.classes_)
        p = proba[:, classes.index(1)] if 1 in classes else np.zeros(len(X))
        nan = np.full(len(X), np.nan)
        return pd.DataFrame(
            {"proba_base": p, "proba_cluster": nan, "proba_stack": nan}, index=X.index
        )


class StackedClassifier(ClassifierMixin, BaseEstimator):
    """The v3.4 recipe: base model + one head per regime cluster + logistic stacking head.

    The stacker is fitted only on out-of-fold predictions: base and heads are refitted inside a
    ``GroupKFold(inner_folds)`` over countries and each row gets the predictions of the models
    whose training set excluded its country. The served base and heads are then fitted on all rows.
    """

    def __init__(
        self,
        engine: str = "exact",
        base_params: Mapping[str, Any] | None = None,
        head_params: Mapping[str, Any] | None = None,
        stacker_params: Mapping[str, Any] | None = None,
        clusters: Mapping[str, tuple[str, ...]] | None = None,
        n_anchors: int = 200,
        anchor_labels: str = "observed",
        inner_folds: int = 5,
        random_state: int = 0,
    ) -> None:
        self.engine = engine
        self.base_params = base_params
        self.head_params = head_params
        self.stacker_params = stacker_params
        self.clusters = clusters
        self.n_anchors = n_anchors
        self.anchor_labels = anchor_labels
        self.inner_folds = inner_folds
        self.random_state = random_state

    def _heads(
        self,
        X: FloatArray,
        y: NDArray[np.int64],
        codes: IntArray,
        only: Collection[int] | None = None,
    ) -> list[Any | None]:
        return fit_heads(
            X,
            y,
            codes,
            n_clusters=len(self.clusters_),
            engine=self.engine,
            params=self.head_params,
            n_anchors=self.n_anchors,
            anchor_labels=self.anchor_labels,
            random_state=self.random_state,
            only=only,
        )

    def fit(self, X: pd.DataFrame, y: Any) -> Self:
        """Fit base, heads and (on group-aware out-of-fold predictions) the stacker."""
        countries = countries_of(X)
        Xf = feature_matrix(X)
        yv = _binary_labels(y)
        if len(yv) != len(Xf):
            raise InputError(f"{len(Xf)} samples but {len(yv)} labels")
        if np.unique(yv).size < 2:
            raise ModelError("cannot train the stacked pipeline on a single class")
        self.clusters_ = dict(self.clusters if self.clusters is not None else DEFAULT_CLUSTERS)
        codes = cluster_codes(countries, self.clusters_)
        n_groups = np.unique(countries).size
        if n_groups < 2 or self.inner_folds < 2:
            raise ModelError("the stacked pipeline needs >= 2 countries and inner_folds >= 2")
        Z = np.zeros((len(yv), 1 + len(self.clusters_)))
        for tr, va in GroupKFold(n_splits=min(self.inner_folds, n_groups)).split(Xf, yv, countries):
            base = fit_engine(
                self.engine, "base", self.base_params, self.random_state, Xf[tr], yv[tr]
            )
            heads = self._heads(Xf[tr], yv[tr], codes[tr], only=set(codes[va].tolist()))
            Z[va] = stack_inputs(
                positive_proba(base, Xf[va]),
                own_head_proba(heads, Xf[va], codes[va]),
                codes[va],
                len(self.clusters_),
            )
        self.stacker_ = make_stacker(self.stacker_params, self.random_state).fit(Z, yv)
        self.base_ = fit_engine(self.engine, "base", self.base_params, self.random_state, Xf, yv)
        self.heads_ = self._heads(Xf, yv, codes)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(FEATURES)
        self.feature_names_in_ = np.array(FEATURES, dtype=object)
        return self

    def predict_parts(self, X: pd.DataFrame) -> pd.DataFrame:
        """Base proba, own-cluster head proba (NaN if none) and final stacked proba per row."""
        check_is_fitted(self)
        Xf = feature_matrix(X)
        codes = cluster_codes(countries_of(X), self.clusters_)
        p_base = positive_proba(self.base_, Xf)
        p_head = own_head_proba(self.heads_, Xf, codes)
        Z = stack_inputs(p_base, p_head, codes, len(self.clusters_))
        p_stack = self.stacker_.predict_proba(Z)[:, 1]
        return pd.DataFrame(
            {"proba_base": p_base, "proba_cluster": p_head, "proba_stack": p_stack}, index=X.index
        )

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """Final (stacked) probabilities, columns ``[P(0), P(1)]``."""
        p = self.predict_parts(X)["proba_stack"].to_numpy()
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> NDArray[Any]:
        """Class at the 0.5 threshold (per-country thresholds live in the evaluation results)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def stacker_coefficients(self) -> dict[str, float]:
        """Stacker weights by input name (the v3.4 report's diagnostic table)."""
        check_is_fitted(self)
        names = ["base_proba", *self.clusters_]
        return {n: float(c) for n, c in zip(names, self.stacker_.coef_[0], strict=True)}


# --------------------------------------------------------------------------- spec
@dataclass(frozen=True)
class PipelineSpec:
    """Everything needed to rebuild a model recipe; recorded in manifests via :meth:`to_dict`."""

    pipeline: str = "base"
    engine: str = "exact"
    base_params: Mapping[str, Any] = field(default_factory=dict)
    head_params: Mapping[str, Any] = field(default_factory=dict)
    stacker_params: Mapping[str, Any] = field(default_factory=dict)
    clusters: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CLUSTERS))
    n_anchors: int = 200
    anchor_labels: str = "observed"
    inner_folds: int = 5
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.pipeline not in PIPELINES:
            raise InputError(
                f"unknown pipeline {self.pipeline!r}; choose one of {', '.join(PIPELINES)}"
            )
        get_engine(self.engine)
        if self.anchor_labels not in ANCHOR_LABELS:
            raise InputError(f"anchor_labels must be one of {', '.join(ANCHOR_LABELS)}")
        if self.inner_folds < 2 or self.n_anchors < 0:
            raise InputError("inner_folds must be >= 2 and n_anchors >= 0")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        return {
            "pipeline": self.pipeline,
            "engine": self.engine,
            "base_params": dict(self.base_params),
            "head_params": dict(self.head_params),
            "stacker_params": dict(self.stacker_params),
            "clusters": {k: list(v) for k, v in self.clusters.items()},
            "n_anchors": self.n_anchors,
            "anchor_labels": self.anchor_labels,
            "inner_folds": self.inner_folds,
            "random_state": self.random_state,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PipelineSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an ``InputError``."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown pipeline spec keys: {', '.join(sorted(unknown))}")
        kwargs = dict(data)
        if "clusters" in kwargs:
            kwargs["clusters"] = {k: tuple(v) for k, v in kwargs["clusters"].items()}
        for key in ("base_params", "head_params", "stacker_params"):
            if key in kwargs:
                kwargs[key] = dict(kwargs[key])
        return cls(**kwargs)


def make_model(spec: PipelineSpec) -> BoostedClassifier | StackedClassifier:
    """An unfitted estimator implementing ``spec``."""
    if spec.pipeline == "base":
        return BoostedClassifier(
            engine=spec.engine,
            params=dict(spec.base_params),
            role="base",
            random_state=spec.random_state,
        )
    return StackedClassifier(
        engine=spec.engine,
        base_params=dict(spec.base_params),
        head_params=dict(spec.head_params),
        stacker_params=dict(spec.stacker_params),
        clusters={k: tuple(v) for k, v in spec.clusters.items()},
        n_anchors=spec.n_anchors,
        anchor_labels=spec.anchor_labels,
        inner_folds=spec.inner_folds,
        random_state=spec.random_state,
    )


def spec_of(model: Any) -> PipelineSpec:
    """The spec a labelbench estimator implements (``ModelError`` for foreign estimators)."""
    if isinstance(model, BoostedClassifier):
        return PipelineSpec(
            pipeline="base",
            engine=model.engine,
            base_params=dict(model.params or {}),
            random_state=model.random_state,
        )
    if isinstance(model, StackedClassifier):
        return PipelineSpec(
            pipeline="stacked",
            engine=model.engine,
            base_params=dict(model.base_params or {}),
            head_params=dict(model.head_params or {}),
            stacker_params=dict(model.stacker_params or {}),
            clusters=dict(model.clusters if model.clusters is not None else DEFAULT_CLUSTERS),
            n_anchors=model.n_anchors,
            anchor_labels=model.anchor_labels,
            inner_folds=model.inner_folds,
            random_state=model.random_state,
        )
    raise ModelError(f"not a labelbench model: {type(model).__name__}")
