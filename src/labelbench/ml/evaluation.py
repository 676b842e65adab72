"""The published evaluation protocol: LOCO per country, stratified 5-fold, thresholds, comparison.

How LOCO stays fast without leaking
-----------------------------------
Per held-out country ``c`` the only models that *must* be refitted are the base model and the
head of ``c``'s own cluster (the heads of other clusters are gated to 0 for ``c``'s rows, so they
never touch its score). The stacker, however, needs out-of-fold predictions for every training
row, from models that saw neither that row's country nor ``c``. Refitting an inner ``GroupKFold``
per outer fold (what :class:`~labelbench.ml.estimators.StackedClassifier` does when fitted on its
own) costs ``inner_folds`` full fits per country. Instead the countries are split once into
``G = 2 * inner_folds`` size-balanced groups and one "pair model" (base + all heads) is fitted per
unordered pair of groups ``{a, b}`` on everything outside ``a`` and ``b``. For held-out ``c`` in
group ``b`` the stacker input of a row in group ``a`` comes from pair model ``{a, b}``: it excluded
the row's country *and* ``c``. Every pair model trains on ``1 - 2/G = 1 - 1/inner_folds`` of the
data, the same share as an inner fold of the standalone estimator, and the ``G(G+1)/2`` pair models
are shared by all
outer folds. The stacker itself is fitted per outer fold, and so are the per-country thresholds
(from the OOF predictions of the country's other threshold folds and of the other countries).
Consequence: the LOCO base and own-head parts equal a standalone fit on the training countries
exactly; the stacker sees an equally sized but differently partitioned set of inner folds.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from threadpoolctl import threadpool_limits

from labelbench.domain.constants import FEATURES, SMALL_N
from labelbench.errors import InputError, ModelError
from labelbench.ml import estimators as est
from labelbench.ml.estimators import PipelineSpec

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]
ProgressFn = Callable[[int, int], None]

STATUSES: tuple[str, ...] = (
    "improved",
    "improved-within-noise",
    "flat",
    "regressed-within-noise",
    "regressed",
)


# --------------------------------------------------------------------------- small metrics
def _f1_from_counts(tp: NDArray[Any], fp: NDArray[Any], fn: NDArray[Any]) -> FloatArray:
    den = 2 * tp + fp + fn
    out = np.zeros(np.shape(tp), dtype=np.float64)
    np.divide(2 * tp, den, out=out, where=den > 0)
    return out


def binary_scores(y: NDArray[Any], pred: NDArray[Any]) -> tuple[float, float, float]:
    """(F1, precision, recall) of boolean predictions; 0 where undefined (zero_division=0).

    Plain counting: sklearn's metric functions cost ~5 ms of validation per call, which adds up
    over hundreds of countries and thresholds.
    """
    yt = np.asarray(y, dtype=bool)
    yp = np.asarray(pred, dtype=bool)
    tp = int((yt & yp).sum())
    fp = int((~yt & yp).sum())
    fn = int((yt & ~yp).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return f1, precision, recall


def _boot_indices(n: int, n_boot: int, seed: int, key: str) -> IntArray:
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    return rng.integers(0, n, size=(n_boot, n))


def bootstrap_f1_ci(
    y: NDArray[Any], pred: NDArray[Any], *, n_boot: int, seed: int, key: str = ""
) -> tuple[float, float]:
    """Percentile 95% bootstrap interval of F1, all resamples computed as one array operation."""
    if n_boot <= 0 or len(y) == 0:
        return (float("nan"), float("nan"))
    idx = _boot_indices(len(y), n_boot, seed, key)
    yt = np.asarray(y, dtype=bool)[idx]
    yp = np.asarray(pred, dtype=bool)[idx]
    f1 = _f1_from_counts((yt & yp).sum(1), (~yt & yp).sum(1), (yt & ~yp).sum(1))
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def paired_bootstrap_delta_ci(
    y: NDArray[Any],
    pred_a: NDArray[Any],
    pred_b: NDArray[Any],
    *,
    n_boot: int,
    seed: int,
    key: str = "",
) -> tuple[float, float]:
    """95% interval of F1(b) - F1(a), resampling the same rows for both models."""
    if n_boot <= 0 or len(y) == 0:
        return (float("nan"), float("nan"))
    idx = _boot_indices(len(y), n_boot, seed, key)
    yt = np.asarray(y, dtype=bool)[idx]

    def f1(pred: NDArray[Any]) -> FloatArray:
        yp = np.asarray(pred, dtype=bool)[idx]
        return _f1_from_counts((yt & yp).sum(1), (~yt & yp).sum(1), (yt & ~yp).sum(1))

    lo, hi = np.percentile(f1(pred_b) - f1(pred_a), [2.5, 97.5])
    return float(lo), float(hi)


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


# --------------------------------------------------------------------------- results
@dataclass
class CountryMetrics:
    """LOCO metrics of one held-out country."""

    country: str
    n: int
    positives: int
    f1: float
    precision: float
    recall: float
    auc: float
    ci_low: float
    ci_high: float
    small_n: bool
    threshold: float
    f1_at_threshold: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics (NaN becomes None)."""
        return {
            "f1": _num(self.f1),
            "precision": _num(self.precision),
            "recall": _num(self.recall),
            "auc": _num(self.auc),
            "n": self.n,
            "positives": self.positives,
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "small_n": self.small_n,
            "threshold": _num(self.threshold),
            "f1_at_threshold": _num(self.f1_at_threshold),
        }


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


@dataclass
class LocoResult:
    """Everything one LOCO + stratified evaluation produced, including the OOF predictions.

    ``predictions`` (LOCO) and ``stratified_predictions`` are indexed by the caller's sample index
    with columns ``country, y, proba, proba_base, proba_cluster, proba_stack`` (LOCO adds
    ``threshold_oof``, the out-of-fold shrunk threshold each row was scored with).
    """

    spec: PipelineSpec
    countries: dict[str, CountryMetrics]
    skipped: dict[str, str]
    loco_median_f1: float
    loco_mean_f1: float
    stratified_f1: float
    stratified_auc: float
    predictions: pd.DataFrame
    stratified_predictions: pd.DataFrame
    thresholds: ServingThresholds
    n_boot: int
    seed: int
    small_n: int
    elapsed_seconds: float = 0.0
    #: CPU time of all fold tasks plus the in-process work: the cost independent of other load.
    cpu_seconds: float = 0.0

    @property
    def loco_countries(self) -> int:
        """Number of countries evaluated."""
        return len(self.countries)

    def to_dict(self, *, include_predictions: bool = False) -> dict[str, Any]:
        """JSON-serialisable summary (predictions only on request: they are large)."""
        out: dict[str, Any] = {
            "spec": self.spec.to_dict(),
            "loco_median_f1": _num(self.loco_median_f1),
            "loco_mean_f1": _num(self.loco_mean_f1),
            "stratified_f1": _num(self.stratified_f1),
            "stratified_auc": _num(self.stratified_auc),
            "loco_countries": self.loco_countries,
            "skipped": dict(self.skipped),
            "countries": {c: m.to_dict() for c, m in self.countries.items()},
            "thresholds": self.thresholds.to_dict(),
            "n_boot": self.n_boot,
            "seed": self.seed,
            "small_n": self.small_n,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
        }
        if include_predictions:
            out["predictions"] = _frame_records(self.predictions)
            out["stratified_predictions"] = _frame_records(self.stratified_predictions)
        return out


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    records = df.reset_index(names="sample").to_dict(orient="records")
    return [{k: (_num(v) if isinstance(v, float) else v) for k, v in r.items()} for r in records]


# --------------------------------------------------------------------------- fold tasks
@dataclass(frozen=True)
class _Data:
    """The numeric view of the samples shipped to workers (arrays pickle/memmap cheaply)."""

    X: FloatArray
    countries: NDArray[np.object_]
    codes: IntArray
    y_train: FloatArray


def _threads_per_worker(n_jobs: int) -> int:
    """One BLAS/OpenMP thread per fold task.

    At this data size fold-level parallelism wins: a histogram GBM on ~4k rows ran 4-10x *slower*
    with 2 OpenMP threads than with 1 on the 2-core target, and workers x threads must not exceed
    the cores anyway. ``n_jobs`` is accepted for future tuning on larger machines.
    """
    del n_jobs
    return 1


def _fit_heads(
    spec: PipelineSpec, d: _Data, train: IntArray, y: NDArray[np.int64], *, only: set[int]
) -> list[Any | None]:
    """The cluster heads in ``only``, trained on rows ``train`` as the spec says."""
    return est.fit_heads(
        d.X[train],
        y,
        d.codes[train],
        n_clusters=len(spec.clusters),
        engine=spec.engine,
        params=spec.head_params,
        n_anchors=spec.n_anchors,
        anchor_labels=spec.anchor_labels,
        random_state=spec.random_state,
        only=only,
    )


def _outer_task(spec: PipelineSpec, d: _Data, train: IntArray, test: IntArray) -> dict[str, Any]:
    """Held-out country: base on all training countries, plus its own cluster's head."""
    y = d.y_train[train].astype(np.int64)
    base = est.fit_engine(spec.engine, "base", spec.base_params, spec.random_state, d.X[train], y)
    p_base = est.positive_proba(base, d.X[test])
    p_head = np.full(len(test), np.nan)
    k = int(d.codes[test[0]]) if len(test) else -1
    if spec.pipeline == "stacked" and k >= 0:
        heads = _fit_heads(spec, d, train, y, only={k})
        p_head = est.own_head_proba(heads, d.X[test], d.codes[test])
    return {"test": test, "p_base": p_base, "p_head": p_head}


def _pair_task(spec: PipelineSpec, d: _Data, train: IntArray, target: IntArray) -> dict[str, Any]:
    """Pair model: base + all heads on everything outside two country groups."""
    y = d.y_train[train].astype(np.int64)
    base = est.fit_engine(spec.engine, "base", spec.base_params, spec.random_state, d.X[train], y)
    heads = _fit_heads(spec, d, train, y, only=set(d.codes[target].tolist()))
    return {
        "target": target,
        "p_base": est.positive_proba(base, d.X[target]),
        "p_head": est.own_head_proba(heads, d.X[target], d.codes[target]),
    }


def _strat_task(spec: PipelineSpec, d: _Data, train: IntArray, test: IntArray) -> dict[str, Any]:
    """Stratified fold: the full estimator, fitted exactly as it would be for serving."""
    frame = pd.DataFrame(d.X, columns=list(FEATURES))
    frame["country"] = d.countries
    model = est.make_model(spec).fit(frame.iloc[train], d.y_train[train].astype(np.int64))
    parts = model.predict_parts(frame.iloc[test])
    return {"test": test, "parts": parts.to_numpy()}


def _stacker_task(
    spec: PipelineSpec, Z: FloatArray, y: NDArray[np.int64], Z_test: FloatArray
) -> FloatArray:
    """Fit the stacker on one outer fold's OOF inputs and score the held-out rows."""
    stacker = est.make_stacker(spec.stacker_params, spec.random_state).fit(Z, y)
    return np.asarray(stacker.predict_proba(Z_test)[:, 1], dtype=np.float64)


def _parallel_map(
    calls: Sequence[tuple[Any, Callable[..., Any], tuple[Any, ...]]],
    n_jobs: int,
    progress: ProgressFn | None,
    done: int,
    total: int,
) -> tuple[dict[Any, Any], int, float]:
    """Run ``(key, fn, args)`` calls with joblib (the active backend), reporting progress.

    Returns the results by key, the progress count and the CPU seconds the tasks used.
    """
    threads = _threads_per_worker(n_jobs)
    out: dict[Any, Any] = {}
    cpu = 0.0
    gen: Iterable[tuple[Any, Any, float]] = Parallel(
        n_jobs=n_jobs, return_as="generator_unordered"
    )(delayed(_keyed)(key, threads, fn, *args) for key, fn, args in calls)
    for key, value, seconds in gen:
        out[key] = value
        cpu += seconds
        done += 1
        if progress is not None:
            progress(done, total)
    return out, done, cpu


def _keyed(key: Any, threads: int, fn: Callable[..., Any], *args: Any) -> tuple[Any, Any, float]:
    start = time.thread_time()
    with threadpool_limits(limits=threads):
        value = fn(*args)
    return key, value, time.thread_time() - start


# --------------------------------------------------------------------------- input checks
def _labels(y: Any, X: pd.DataFrame, name: str) -> FloatArray:
    if isinstance(y, pd.Series) and not y.index.equals(X.index):
        raise InputError(f"{name} is not aligned with the samples' index")
    arr = np.asarray(y, dtype=np.float64)
    if arr.shape != (len(X),):
        raise InputError(f"{name} has {arr.size} values for {len(X)} samples")
    ok = np.isnan(arr) | (arr == 0) | (arr == 1)
    if not ok.all():
        raise InputError(f"{name} must contain only 0, 1 or missing")
    return arr


def _country_groups(
    countries: Sequence[str], sizes: dict[str, int], n_groups: int
) -> dict[str, int]:
    """Size-balanced deterministic assignment of countries to ``n_groups`` groups."""
    load = np.zeros(n_groups)
    group: dict[str, int] = {}
    for c in sorted(countries, key=lambda c: (-sizes.get(c, 0), c)):
        g = int(np.argmin(load))
        group[c] = g
        load[g] += sizes.get(c, 0)
    return group


# --------------------------------------------------------------------------- LOCO
def loco_evaluate(
    spec: PipelineSpec,
    X: pd.DataFrame,
    y_train: Any,
    y_eval: Any,
    *,
    n_jobs: int = 1,
    progress: ProgressFn | None = None,
    n_boot: int = 1000,
    small_n: int = SMALL_N,
    seed: int = 0,
    shrinkage_k: float = float(SMALL_N),
    threshold_folds: int = 3,
    stratified_folds: int = 5,
    min_country_samples: int = 2,
) -> LocoResult:
    """Leave-one-country-out + stratified evaluation of ``spec`` (see the module docstring).

    ``y_train`` holds the labels the model may learn from and ``y_eval`` the labels held-out
    countries are scored on (NaN = excluded / not scored), positionally aligned with ``X``. Folds
    run through joblib with ``n_jobs`` workers, so a surrounding ``parallel_backend`` (e.g. Dask,
    see :mod:`labelbench.ml.parallel`) distributes them.
    """
    started = time.perf_counter()
    main_cpu = time.process_time()
    Xf = est.feature_matrix(X)
    countries = est.countries_of(X)
    ytr = _labels(y_train, X, "y_train")
    yev = _labels(y_eval, X, "y_eval")
    codes = est.cluster_codes(countries, spec.clusters)
    T = ~np.isnan(ytr)
    E = ~np.isnan(yev)
    if T.sum() == 0 or np.unique(ytr[T]).size < 2:
        raise InputError("y_train needs labelled samples of both classes")

    # Which countries can be held out, and why the others cannot.
    evaluated: list[str] = []
    skipped: dict[str, str] = {}
    for c in sorted(set(countries[E])):
        rows = E & (countries == c)
        n, pos = int(rows.sum()), int(yev[rows].sum())
        train_y = ytr[T & (countries != c)]
        if n < min_country_samples:
            skipped[c] = f"too few samples (n={n} < {min_country_samples})"
        elif pos in (0, n):
            skipped[c] = f"single class ({'all positive' if pos else 'all negative'}, n={n})"
        elif np.unique(train_y).size < 2:
            skipped[c] = "training data without both classes"
        else:
            evaluated.append(c)
    if not evaluated:
        raise InputError("no country has both classes in y_eval; nothing to evaluate")

    data = _Data(Xf, countries, codes, ytr)
    test_of = {c: np.flatnonzero(E & (countries == c)) for c in evaluated}
    calls: list[tuple[Any, Callable[..., Any], tuple[Any, ...]]] = []

    # Stratified folds first: they are the longest tasks, so schedule them early.
    U = T | E
    strat_y = np.where(E, yev, ytr)
    u_idx = np.flatnonzero(U)
    skf = StratifiedKFold(n_splits=stratified_folds, shuffle=True, random_state=seed)
    for s, (_, te) in enumerate(skf.split(u_idx, strat_y[u_idx])):
        in_test = np.zeros(len(X), dtype=bool)
        in_test[u_idx[te]] = True
        calls.append(
            (
                ("strat", s),
                _strat_task,
                (spec, data, np.flatnonzero(T & ~in_test), np.flatnonzero(E & in_test)),
            )
        )

    group_of: dict[str, int] = {}
    n_groups = 0
    if spec.pipeline == "stacked":
        all_c = sorted(set(countries[T | E]))
        sizes = {c: int((T & (countries == c)).sum()) for c in all_c}
        n_groups = min(2 * spec.inner_folds, len(all_c))
        group_of = _country_groups(all_c, sizes, n_groups)
        row_group = np.fromiter(
            (group_of[c] for c in countries), dtype=np.intp, count=len(countries)
        )
        needed = {group_of[c] for c in evaluated}
        for a in range(n_groups):
            for b in range(a, n_groups):
                if a not in needed and b not in needed:
                    continue
                excluded = (row_group == a) | (row_group == b)
                calls.append(
                    (
                        ("pair", a, b),
                        _pair_task,
                        (spec, data, np.flatnonzero(T & ~excluded), np.flatnonzero(T & excluded)),
                    )
                )
    for c in evaluated:
        calls.append(
            (
                ("outer", c),
                _outer_task,
                (spec, data, np.flatnonzero(T & (countries != c)), test_of[c]),
            )
        )

    total = len(calls) + (1 if spec.pipeline == "stacked" else 0)
    try:
        phase_cpu = time.process_time()
        results, done, task_cpu = _parallel_map(calls, n_jobs, progress, 0, total)
        main_cpu += time.process_time() - phase_cpu  # dispatching (or in-process tasks) not twice
    except (InputError, ModelError):
        raise
    except ValueError as exc:  # an engine refused the data (e.g. NaN features)
        raise ModelError(f"training failed: {exc}") from exc

    # Assemble LOCO parts; the stacked pipeline fits one stacker per outer fold.
    n = len(X)
    p_base = np.full(n, np.nan)
    p_head = np.full(n, np.nan)
    p_stack = np.full(n, np.nan)
    for c in evaluated:
        r = results[("outer", c)]
        p_base[r["test"]] = r["p_base"]
        p_head[r["test"]] = r["p_head"]
    if spec.pipeline == "stacked":
        n_cl = len(spec.clusters)
        PB = np.full(
            (n, n_groups), np.nan
        )  # PB[r, g]: base proba of row r by pair model {group(r), g}
        PH = np.full((n, n_groups), np.nan)
        for key, r in results.items():
            if key[0] != "pair":
                continue
            _, a, b = key
            tgt = r["target"]
            g_t = row_group[tgt]
            other = np.where(g_t == a, b, a)
            PB[tgt, other] = r["p_base"]
            PH[tgt, other] = r["p_head"]
        stack_calls = []
        for c in evaluated:
            g = group_of[c]
            train = np.flatnonzero(T & (countries != c))
            Z = est.stack_inputs(PB[train, g], PH[train, g], codes[train], n_cl)
            te = test_of[c]
            Z_test = est.stack_inputs(p_base[te], p_head[te], codes[te], n_cl)
            stack_calls.append((c, Z, ytr[train].astype(np.int64), Z_test))
        # Stacker fits are tiny: run them in-process (keeps spies and memory simple).
        for c, Z, yz, Z_test in stack_calls:
            p_stack[test_of[c]] = _stacker_task(spec, Z, yz, Z_test)
        done += 1
        if progress is not None:
            progress(done, total)
    final = p_stack if spec.pipeline == "stacked" else p_base

    scored = np.concatenate([test_of[c] for c in evaluated])
    preds = pd.DataFrame(
        {
            "country": countries[scored],
            "y": yev[scored].astype(np.int64),
            "proba": final[scored],
            "proba_base": p_base[scored],
            "proba_cluster": p_head[scored],
            "proba_stack": p_stack[scored],
        },
        index=X.index[scored],
    )
    metrics, thresholds, t_oof = _country_metrics(
        preds,
        evaluated,
        n_boot=n_boot,
        seed=seed,
        small_n=small_n,
        k=shrinkage_k,
        folds=threshold_folds,
    )
    preds["threshold_oof"] = t_oof

    strat_rows, strat_parts = [], []
    for s in range(stratified_folds):
        r = results[("strat", s)]
        strat_rows.append(r["test"])
        strat_parts.append(r["parts"])
    s_idx = np.concatenate(strat_rows)
    s_parts = np.vstack(strat_parts) if strat_parts else np.empty((0, 3))
    s_final = s_parts[:, 2] if spec.pipeline == "stacked" else s_parts[:, 0]
    strat = pd.DataFrame(
        {
            "country": countries[s_idx],
            "y": yev[s_idx].astype(np.int64),
            "proba": s_final,
            "proba_base": s_parts[:, 0],
            "proba_cluster": s_parts[:, 1],
            "proba_stack": s_parts[:, 2],
        },
        index=X.index[s_idx],
    ).sort_index()
    s_y = strat["y"].to_numpy()
    s_f1 = binary_scores(s_y, strat["proba"].to_numpy() >= 0.5)[0]
    s_auc = float(roc_auc_score(s_y, strat["proba"])) if np.unique(s_y).size == 2 else float("nan")

    f1s = np.array([m.f1 for m in metrics.values()])
    return LocoResult(
        spec=spec,
        countries=metrics,
        skipped=skipped,
        loco_median_f1=float(np.median(f1s)),
        loco_mean_f1=float(np.mean(f1s)),
        stratified_f1=s_f1,
        stratified_auc=s_auc,
        predictions=preds,
        stratified_predictions=strat,
        thresholds=thresholds,
        n_boot=n_boot,
        seed=seed,
        small_n=small_n,
        elapsed_seconds=time.perf_counter() - started,
        cpu_seconds=task_cpu + time.process_time() - main_cpu,
    )


def _country_metrics(
    preds: pd.DataFrame,
    evaluated: list[str],
    *,
    n_boot: int,
    seed: int,
    small_n: int,
    k: float,
    folds: int,
) -> tuple[dict[str, CountryMetrics], ServingThresholds, FloatArray]:
    """Per-country metrics, OOF shrunk thresholds and the serving thresholds."""
    country = preds["country"].to_numpy()
    y_all = preds["y"].to_numpy()
    p_all = preds["proba"].to_numpy()
    t_oof = np.full(len(preds), np.nan)
    t_all = f1_optimal_threshold(y_all, p_all)
    global_t = 0.5 if t_all is None else t_all
    per_country: dict[str, float] = {}
    metrics: dict[str, CountryMetrics] = {}
    for c in evaluated:
        rows = np.flatnonzero(country == c)
        y, p = y_all[rows], p_all[rows]
        others = country != c
        t_glob_c = f1_optimal_threshold(y_all[others], p_all[others])
        t_glob_c = 0.5 if t_glob_c is None else t_glob_c
        n_pos = int(y.sum())
        n_f = min(folds, len(y))
        splitter: StratifiedKFold | KFold
        if min(n_pos, len(y) - n_pos) >= n_f >= 2:
            splitter = StratifiedKFold(n_splits=n_f, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits=max(2, n_f), shuffle=True, random_state=seed)
        t_rows = np.full(len(y), t_glob_c)
        for fit, score in splitter.split(p.reshape(-1, 1), y):
            t_hat = f1_optimal_threshold(y[fit], p[fit])
            t_rows[score] = shrunk_threshold(t_hat, len(fit), t_glob_c, k)
        t_oof[rows] = t_rows
        serving = shrunk_threshold(f1_optimal_threshold(y, p), len(y), global_t, k)
        per_country[c] = serving
        pred = p >= 0.5
        f1, precision, recall = binary_scores(y, pred)
        lo, hi = bootstrap_f1_ci(y, pred, n_boot=n_boot, seed=seed, key=c)
        metrics[c] = CountryMetrics(
            country=c,
            n=len(y),
            positives=n_pos,
            f1=f1,
            precision=precision,
            recall=recall,
            auc=float(roc_auc_score(y, p)) if 0 < n_pos < len(y) else float("nan"),
            ci_low=lo,
            ci_high=hi,
            small_n=len(y) < small_n,
            threshold=serving,
            f1_at_threshold=binary_scores(y, p >= t_rows)[0],
        )
    return metrics, ServingThresholds(global_t, per_country, k), t_oof


# --------------------------------------------------------------------------- comparison
@dataclass
class CountryDelta:
    """Candidate minus production F1 of one country, with a paired bootstrap interval."""

    country: str
    n: int
    small_n: bool
    production_f1: float
    candidate_f1: float
    delta: float
    ci_low: float
    ci_high: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n": self.n,
            "small_n": self.small_n,
            "production_f1": _num(self.production_f1),
            "candidate_f1": _num(self.candidate_f1),
            "delta": _num(self.delta),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "status": self.status,
        }


@dataclass
class Comparison:
    """Production vs candidate on the same held-out labels; ``production`` None = first model."""

    production: LocoResult | None
    candidate: LocoResult
    deltas: dict[str, CountryDelta]
    unmatched: list[str]
    flat_tol: float
    n_boot: int
    seed: int

    @property
    def has_production(self) -> bool:
        """Whether there is a production model to compare with."""
        return self.production is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of both results and the per-country deltas."""
        return {
            "candidate": self.candidate.to_dict(),
            "production": None if self.production is None else self.production.to_dict(),
            "deltas": {c: d.to_dict() for c, d in self.deltas.items()},
            "unmatched": list(self.unmatched),
            "flat_tol": self.flat_tol,
            "n_boot": self.n_boot,
            "seed": self.seed,
        }


def classify_delta(delta: float, ci_low: float, ci_high: float, flat_tol: float) -> str:
    """improved / improved-within-noise / flat / regressed-within-noise / regressed.

    A move larger than ``flat_tol`` is "within noise" when the paired interval still contains 0.
    """
    if delta > flat_tol:
        return "improved" if ci_low > 0 else "improved-within-noise"
    if delta < -flat_tol:
        return "regressed" if ci_high < 0 else "regressed-within-noise"
    return "flat"


def compare(
    production: LocoResult | None,
    candidate: LocoResult,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    flat_tol: float = 0.02,
) -> Comparison:
    """Per-country delta F1 (at 0.5) with paired bootstrap intervals over the shared rows."""
    deltas: dict[str, CountryDelta] = {}
    unmatched: list[str] = []
    if production is not None:
        cand, prod = candidate.predictions, production.predictions
        for c in candidate.countries:
            if c not in production.countries:
                unmatched.append(c)
                continue
            a = prod[prod["country"] == c]
            b = cand[cand["country"] == c]
            shared = b.index.intersection(a.index)
            a, b = a.loc[shared], b.loc[shared]
            if len(shared) == 0:
                unmatched.append(c)
                continue
            if not np.array_equal(a["y"].to_numpy(), b["y"].to_numpy()):
                raise InputError(
                    f"cannot compare {c}: the two results were scored on different labels"
                )
            y = b["y"].to_numpy()
            pa = a["proba"].to_numpy() >= 0.5
            pb = b["proba"].to_numpy() >= 0.5
            fa = binary_scores(y, pa)[0]
            fb = binary_scores(y, pb)[0]
            lo, hi = paired_bootstrap_delta_ci(y, pa, pb, n_boot=n_boot, seed=seed, key=c)
            deltas[c] = CountryDelta(
                country=c,
                n=len(y),
                small_n=candidate.countries[c].small_n,
                production_f1=fa,
                candidate_f1=fb,
                delta=fb - fa,
                ci_low=lo,
                ci_high=hi,
                status=classify_delta(fb - fa, lo, hi, flat_tol),
            )
        unmatched.extend(c for c in production.countries if c not in candidate.countries)
    return Comparison(production, candidate, deltas, sorted(unmatched), flat_tol, n_boot, seed)
