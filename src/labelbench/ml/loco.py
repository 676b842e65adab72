"""The published protocol: leave-one-country-out (LOCO) per country, plus stratified 5-fold.

LOCO never trains on the held-out country, so it measures *transfer*: how well the model does on
a country it has never seen. The value of labels in their own country is measured by
:mod:`labelbench.ml.within_country`, which can run in the same pool (``within=...``) and shares
the pair models (see :mod:`labelbench.ml.cv`). Consequence of the shared pair models: the LOCO base
and own-head parts equal a standalone fit on the training countries exactly; the stacker sees an
equally sized but differently partitioned set of inner folds.

Per-country intervals resample calendar weeks (``X["day"]`` when present; rows otherwise).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from labelbench.domain.constants import SMALL_N
from labelbench.errors import InputError
from labelbench.ml import estimators as est
from labelbench.ml.cv import Call, Data, OuterFold, ProgressFn, check_labels, run_folds, strat_task
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.metrics import binary_scores, bootstrap_f1_ci, num, roc_auc, week_blocks
from labelbench.ml.thresholds import ServingThresholds, f1_optimal_threshold, shrunk_threshold

if TYPE_CHECKING:
    from labelbench.ml.within_country import WithinCountryResult, WithinPlan

FloatArray = NDArray[np.float64]

#: *default*: countries with fewer labelled positives than this are flagged small-n (F1 on a
#: handful of positives swings by +/-15pp from one day's label).
SMALL_N_POSITIVES = 10


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
            "f1": num(self.f1),
            "precision": num(self.precision),
            "recall": num(self.recall),
            "auc": num(self.auc),
            "n": self.n,
            "positives": self.positives,
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "small_n": self.small_n,
            "threshold": num(self.threshold),
            "f1_at_threshold": num(self.f1_at_threshold),
        }


@dataclass
class LocoResult:
    """Everything one LOCO + stratified evaluation produced, including the OOF predictions.

    ``predictions`` (LOCO) and ``stratified_predictions`` are indexed by the caller's sample index
    with columns ``country, y, proba, proba_base, proba_cluster, proba_stack`` (LOCO adds
    ``threshold_oof``, the out-of-fold shrunk threshold each row was scored with, and ``day``
    when the samples had one). ``within`` holds the within-country evaluation run alongside.
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
    within: WithinCountryResult | None = None

    @property
    def loco_countries(self) -> int:
        """Number of countries evaluated."""
        return len(self.countries)

    def to_dict(self, *, include_predictions: bool = False) -> dict[str, Any]:
        """JSON-serialisable summary (predictions only on request: they are large)."""
        out: dict[str, Any] = {
            "spec": self.spec.to_dict(),
            "loco_median_f1": num(self.loco_median_f1),
            "loco_mean_f1": num(self.loco_mean_f1),
            "stratified_f1": num(self.stratified_f1),
            "stratified_auc": num(self.stratified_auc),
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


def _frame_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    records = df.reset_index(names="sample").to_dict(orient="records")
    return [{k: (num(v) if isinstance(v, float) else v) for k, v in r.items()} for r in records]


def days_of(X: pd.DataFrame) -> NDArray[np.datetime64] | None:
    """The ``day`` column as ``datetime64[D]`` (None when the samples carry no day)."""
    if "day" not in X.columns:
        return None
    return pd.to_datetime(X["day"]).to_numpy(dtype="datetime64[D]")


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
    within: WithinPlan | None = None,
    cache: dict[str, Any] | None = None,
    used: set[str] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> LocoResult:
    """Leave-one-country-out + stratified evaluation of ``spec`` (see the module docstring).

    ``y_train`` holds the labels the model may learn from and ``y_eval`` the labels held-out
    countries are scored on (NaN = excluded / not scored), positionally aligned with ``X``. Folds
    run through joblib with ``n_jobs`` workers, so a surrounding ``parallel_backend`` (e.g. Dask,
    see :mod:`labelbench.ml.parallel`) distributes them. ``stratified_folds=0`` skips the
    stratified split (attribution retrains do not need it). ``within`` adds the within-country
    evaluation of the plan's countries to the same pool (``X`` needs a ``day`` column).
    ``cache`` reuses unchanged fits across calls and ``used`` collects the keys of the fits this
    evaluation needed, and ``group_sizes`` sizes the pair-model groups (see
    :func:`labelbench.ml.cv.run_folds`).
    """
    started = time.perf_counter()
    main_cpu = time.process_time()
    Xf = est.feature_matrix(X)
    countries = est.countries_of(X)
    days = days_of(X)
    ytr = check_labels(y_train, X, "y_train")
    yev = check_labels(y_eval, X, "y_eval")
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

    data = Data(Xf, countries, codes, ytr)
    test_of = {c: np.flatnonzero(E & (countries == c)) for c in evaluated}
    folds: dict[Hashable, OuterFold] = {
        ("loco", c): OuterFold(np.flatnonzero(T & (countries != c)), test_of[c], c)
        for c in evaluated
    }
    within_folds = within.folds(countries, days, ytr, yev) if within is not None else None
    if within_folds is not None:
        folds.update(within_folds.folds)

    # Stratified folds first: they are the longest tasks, so schedule them early.
    strat_calls: list[Call] = []
    strat_idx: list[NDArray[np.intp]] = []
    if stratified_folds > 0:
        U = T | E
        strat_y = np.where(E, yev, ytr)
        u_idx = np.flatnonzero(U)
        skf = StratifiedKFold(n_splits=stratified_folds, shuffle=True, random_state=seed)
        for s, (_, te) in enumerate(skf.split(u_idx, strat_y[u_idx])):
            in_test = np.zeros(len(X), dtype=bool)
            in_test[u_idx[te]] = True
            train, test = np.flatnonzero(T & ~in_test), np.flatnonzero(E & in_test)
            strat_calls.append((("strat", s), strat_task, (spec, data, train, test)))
            strat_idx.append(test)

    phase_cpu = time.process_time()
    parts, extra, task_cpu = run_folds(
        spec, data, T | E, folds, extra_calls=strat_calls, n_jobs=n_jobs, progress=progress,
        cache=cache, used=used, group_sizes=group_sizes,
    )  # fmt: skip
    main_cpu += time.process_time() - phase_cpu  # dispatching (or in-process tasks) not twice

    n = len(X)
    p_base = np.full(n, np.nan)
    p_head = np.full(n, np.nan)
    p_stack = np.full(n, np.nan)
    final = np.full(n, np.nan)
    for c in evaluated:
        fp = parts[("loco", c)]
        p_base[fp.test], p_head[fp.test], p_stack[fp.test] = fp.p_base, fp.p_head, fp.p_stack
        final[fp.test] = fp.p_stack if spec.pipeline == "stacked" else fp.p_base

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
    if days is not None:
        preds["day"] = days[scored]
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

    s_f1, s_auc, strat = float("nan"), float("nan"), pd.DataFrame()
    if strat_idx:
        s_idx = np.concatenate(strat_idx)
        s_parts = np.vstack([extra[("strat", s)]["parts"] for s in range(len(strat_idx))])
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
        if np.unique(s_y).size == 2:
            s_auc = float(roc_auc_score(s_y, strat["proba"]))

    within_result = None
    if within is not None and within_folds is not None:
        within_result = within.assemble(
            within_folds, parts, X.index, countries, days, yev, spec,
            global_threshold=thresholds.global_threshold, n_boot=n_boot, seed=seed,
        )  # fmt: skip

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
        within=within_result,
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
    day_all = preds["day"].to_numpy() if "day" in preds.columns else None
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
        blocks = None if day_all is None else week_blocks(day_all[rows])
        lo, hi = bootstrap_f1_ci(y, pred, n_boot=n_boot, seed=seed, key=c, blocks=blocks)
        metrics[c] = CountryMetrics(
            country=c,
            n=len(y),
            positives=n_pos,
            f1=f1,
            precision=precision,
            recall=recall,
            auc=roc_auc(y, p),
            ci_low=lo,
            ci_high=hi,
            small_n=is_small(len(y), n_pos, small_n),
            threshold=serving,
            f1_at_threshold=binary_scores(y, p >= t_rows)[0],
        )
    return metrics, ServingThresholds(global_t, per_country, k), t_oof


def is_small(n: int, positives: int, small_n: int, min_positives: int = SMALL_N_POSITIVES) -> bool:
    """Small-n: too few rows *or* too few positives for F1 to mean much.

    F1 is a statistic of the positives: a country with 140 days and 1 positive (DE in the demo)
    scores 0 or 1 on a single day's call.
    """
    return n < small_n or positives < min_positives
