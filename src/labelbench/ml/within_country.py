"""Within-country evaluation: the model on a country's own unseen days, its other days in training.

LOCO never trains on the held-out country, so it cannot see what labels did where they were made.
Production serves a country with that country's labels in training; this evaluation measures
exactly that. A country's labelled days are cut into contiguous time blocks (cuts only between
non-adjacent days, so an episode of consecutive days never straddles train and test; each block
spans at least ``min_block_days``). Each block is scored by a model trained on every other country
plus the country's other blocks (``forward=True``: only its earlier blocks, the first block is
then not scored). Folds run through :func:`labelbench.ml.cv.run_folds`, so they share the pair
models with LOCO and inherit its leak guarantee: no test-block row reaches the base model, the
cluster head or the stacker that scores it.

The serving threshold of a block is fitted on the country's other blocks' out-of-fold predictions
and shrunk toward the global threshold, so it never sees the block it decides.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from labelbench.domain.constants import SMALL_N
from labelbench.errors import InputError
from labelbench.ml import estimators as est
from labelbench.ml.cv import (
    Data,
    FoldParts,
    OuterFold,
    ProgressFn,
    check_labels,
    run_folds_many,
)
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.loco import days_of, is_small
from labelbench.ml.metrics import binary_scores, bootstrap_f1_ci, num, pr_auc, week_blocks
from labelbench.ml.thresholds import f1_optimal_threshold, shrunk_threshold

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def time_blocks(
    days: NDArray[np.datetime64],
    n_blocks: int,
    *,
    positive: NDArray[np.bool_] | None = None,
    min_days: int = 14,
    min_gap: int = 2,
) -> IntArray:
    """Block id (0..K-1, in time order) of each of ``days`` (sorted ascending).

    A cut may fall between two days at least ``min_gap`` days apart, or between two adjacent days
    that are both not ``positive`` (so a labelled episode never touches a boundary). Cuts go as
    close as possible to equal-count quantiles; every block spans at least ``min_days`` calendar
    days. Tries ``n_blocks`` blocks, then fewer; a single block (all zeros) when none fits.
    """
    d = np.asarray(days, dtype="datetime64[D]").astype(np.int64)
    n = len(d)
    if n < 2:
        return np.zeros(n, dtype=np.intp)
    pos = np.zeros(n, dtype=bool) if positive is None else np.asarray(positive, dtype=bool)
    quiet = ~pos[:-1] & ~pos[1:]
    candidates = np.flatnonzero((np.diff(d) >= min_gap) | quiet) + 1  # cut before position i
    for k in range(min(n_blocks, n), 1, -1):
        cuts: list[int] = []
        for q in range(1, k):
            target = q * n / k
            free = [int(i) for i in candidates if not cuts or i > cuts[-1]]
            if not free:
                break
            cuts.append(min(free, key=lambda i: (abs(i - target), i)))
        if len(cuts) != k - 1:
            continue
        bounds = [0, *cuts, n]
        spans = [d[bounds[j + 1] - 1] - d[bounds[j]] + 1 for j in range(k)]
        if min(spans) >= min_days and all(bounds[j + 1] > bounds[j] for j in range(k)):
            out = np.zeros(n, dtype=np.intp)
            for j in range(k):
                out[bounds[j] : bounds[j + 1]] = j
            return out
    return np.zeros(n, dtype=np.intp)


@dataclass
class WithinMetrics:
    """One country's within-country score (F1 at 0.5 and at the serving threshold)."""

    country: str
    n: int
    positives: int
    evaluable: bool
    reason: str = ""
    f1: float = float("nan")
    f1_ci: tuple[float, float] = (float("nan"), float("nan"))
    f1_serving: float = float("nan")
    f1_serving_ci: tuple[float, float] = (float("nan"), float("nan"))
    pr_auc: float = float("nan")
    blocks: int = 0
    small_n: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``within_country`` interface of ``retrain --json``)."""
        return {
            "f1": num(self.f1),
            "f1_ci": [num(self.f1_ci[0]), num(self.f1_ci[1])],
            "f1_serving": num(self.f1_serving),
            "f1_serving_ci": [num(self.f1_serving_ci[0]), num(self.f1_serving_ci[1])],
            "pr_auc": num(self.pr_auc),
            "n": self.n,
            "positives": self.positives,
            "evaluable": self.evaluable,
            "reason": self.reason or None,
            "blocks": self.blocks,
            "small_n": self.small_n,
        }


@dataclass
class WithinFolds:
    """The outer folds of a plan, the time block of every scored row and why others are out."""

    folds: dict[Hashable, OuterFold]
    block: IntArray  # per sample row; -1 outside every evaluated country
    not_evaluable: dict[str, str]


@dataclass
class WithinCountryResult:
    """Out-of-fold within-country predictions; scored on any label vector with :meth:`score`.

    ``predictions`` is indexed like the samples, columns ``country, day, block, proba,
    proba_base, proba_cluster``. ``countries`` is the score on the evaluation labels.
    """

    predictions: pd.DataFrame
    countries: dict[str, WithinMetrics]
    not_evaluable: dict[str, str]
    global_threshold: float
    shrinkage_k: float
    min_positives: int
    min_negatives: int
    n_boot: int
    seed: int
    small_n: int
    elapsed_seconds: float = 0.0

    def frame(self, y: pd.Series) -> pd.DataFrame:
        """Predictions of the rows labelled in ``y`` (indexed like the samples) with ``y`` and
        each row's out-of-fold serving threshold ``threshold_oof``."""
        p = self.predictions
        yv = y.reindex(p.index).to_numpy(dtype=np.float64)
        keep = ~np.isnan(yv)
        out = p.loc[keep].copy()
        out["y"] = yv[keep].astype(np.int64)
        out["threshold_oof"] = np.nan
        for _, rows in out.groupby("country", sort=False).groups.items():
            sub = out.loc[rows]
            t = np.full(len(sub), self.global_threshold)
            blocks = sub["block"].to_numpy()
            for b in np.unique(blocks):
                other = blocks != b
                t_hat = f1_optimal_threshold(
                    sub["y"].to_numpy()[other], sub["proba"].to_numpy()[other]
                )
                t[blocks == b] = shrunk_threshold(
                    t_hat, int(other.sum()), self.global_threshold, self.shrinkage_k
                )
            out.loc[rows, "threshold_oof"] = t
        return out

    def score(self, y: pd.Series) -> dict[str, WithinMetrics]:
        """Per-country metrics on labels ``y`` (a Series indexed like the samples)."""
        f = self.frame(y)
        out: dict[str, WithinMetrics] = {}
        for c, reason in self.not_evaluable.items():
            out[c] = WithinMetrics(c, 0, 0, False, reason)
        for c, sub in f.groupby("country", sort=True):
            yc = sub["y"].to_numpy()
            n, pos = len(yc), int(yc.sum())
            key = str(c)
            if pos < self.min_positives or n - pos < self.min_negatives:
                why = (
                    f"needs >= {self.min_positives} positives and >= {self.min_negatives} "
                    f"negatives (has {pos} and {n - pos})"
                )
                out[key] = WithinMetrics(key, n, pos, False, why, small_n=True)
                continue
            p = sub["proba"].to_numpy()
            blocks = week_blocks(sub["day"].to_numpy())
            half, serving = p >= 0.5, p >= sub["threshold_oof"].to_numpy()
            boot = {"n_boot": self.n_boot, "seed": self.seed, "blocks": blocks}
            out[key] = WithinMetrics(
                country=key,
                n=n,
                positives=pos,
                evaluable=True,
                f1=binary_scores(yc, half)[0],
                f1_ci=bootstrap_f1_ci(yc, half, key=f"w{key}", **boot),  # type: ignore[arg-type]
                f1_serving=binary_scores(yc, serving)[0],
                f1_serving_ci=bootstrap_f1_ci(yc, serving, key=f"ws{key}", **boot),  # type: ignore[arg-type]
                pr_auc=pr_auc(yc, p),
                blocks=int(sub["block"].nunique()),
                small_n=is_small(n, pos, self.small_n),
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready per-country scores on the evaluation labels."""
        return {c: m.to_dict() for c, m in sorted(self.countries.items())}


@dataclass(frozen=True)
class WithinPlan:
    """Which countries to evaluate within-country, and how to cut their time blocks.

    ``countries`` None means every country with enough labels of both classes.
    """

    countries: Sequence[str] | None = None
    n_blocks: int = 5
    min_block_days: int = 14
    min_gap_days: int = 2
    forward: bool = False
    min_positives: int = 3
    min_negatives: int = 3
    shrinkage_k: float = float(SMALL_N)
    small_n: int = SMALL_N

    def folds(
        self,
        countries: NDArray[np.object_],
        days: NDArray[np.datetime64] | None,
        y_train: FloatArray,
        y_eval: FloatArray,
    ) -> WithinFolds:
        """One outer fold per (country, time block); the reasons for countries left out."""
        if days is None:
            raise InputError("within-country evaluation needs the samples' `day` column")
        T, E = ~np.isnan(y_train), ~np.isnan(y_eval)
        U = T | E
        positive = (y_train == 1) | (y_eval == 1)
        wanted = (
            sorted(set(countries[E])) if self.countries is None else sorted(set(self.countries))
        )
        folds: dict[Hashable, OuterFold] = {}
        block = np.full(len(countries), -1, dtype=np.intp)
        skipped: dict[str, str] = {}
        for c in wanted:
            in_c = countries == c
            ev = E & in_c
            pos = int(np.nansum(y_eval[ev]))
            neg = int(ev.sum()) - pos
            if pos < self.min_positives or neg < self.min_negatives:
                skipped[c] = (
                    f"needs >= {self.min_positives} positives and >= {self.min_negatives} "
                    f"negatives (has {pos} and {neg})"
                )
                continue
            rows = np.flatnonzero(U & in_c)
            rows = rows[np.argsort(days[rows], kind="stable")]
            ids = time_blocks(
                days[rows],
                self.n_blocks,
                positive=positive[rows],
                min_days=self.min_block_days,
                min_gap=self.min_gap_days,
            )
            k = int(ids.max()) + 1
            if k < 2:
                skipped[c] = (
                    f"its {len(rows)} labelled days cannot be cut into 2 time blocks of "
                    f">= {self.min_block_days} days"
                )
                continue
            block[rows] = ids
            for b in range(1 if self.forward else 0, k):
                test = rows[ids == b]
                held = rows[ids >= b] if self.forward else test
                mask = T.copy()
                mask[held] = False
                folds[("within", c, b)] = OuterFold(np.flatnonzero(mask), test, c)
        return WithinFolds(folds, block, skipped)

    def assemble(
        self,
        within_folds: WithinFolds,
        parts: Mapping[Hashable, FoldParts],
        index: pd.Index,
        countries: NDArray[np.object_],
        days: NDArray[np.datetime64] | None,
        y_eval: FloatArray,
        spec: PipelineSpec,
        *,
        global_threshold: float,
        n_boot: int,
        seed: int,
    ) -> WithinCountryResult:
        """Gather the folds' out-of-fold probabilities and score them on ``y_eval``."""
        assert days is not None
        keys = [k for k in within_folds.folds if k in parts]
        rows = np.concatenate([parts[k].test for k in keys]) if keys else np.zeros(0, np.intp)
        final = [parts[k].p_stack if spec.pipeline == "stacked" else parts[k].p_base for k in keys]
        preds = pd.DataFrame(
            {
                "country": countries[rows],
                "day": days[rows],
                "block": within_folds.block[rows],
                "proba": _cat(final),
                "proba_base": _cat([parts[k].p_base for k in keys]),
                "proba_cluster": _cat([parts[k].p_head for k in keys]),
            },
            index=index[rows],
        ).sort_index()
        result = WithinCountryResult(
            predictions=preds,
            countries={},
            not_evaluable=dict(within_folds.not_evaluable),
            global_threshold=global_threshold,
            shrinkage_k=self.shrinkage_k,
            min_positives=self.min_positives,
            min_negatives=self.min_negatives,
            n_boot=n_boot,
            seed=seed,
            small_n=self.small_n,
        )
        result.countries = result.score(pd.Series(y_eval, index=index))
        return result


def _cat(parts: list[FloatArray]) -> FloatArray:
    return np.concatenate(parts) if parts else np.zeros(0)


def within_country_evaluate(
    spec: PipelineSpec,
    X: pd.DataFrame,
    y_train: Any,
    y_eval: Any,
    plan: WithinPlan | None = None,
    *,
    n_jobs: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    global_threshold: float = 0.5,
    progress: ProgressFn | None = None,
    cache: dict[str, Any] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> WithinCountryResult:
    """Within-country evaluation alone (``loco_evaluate(..., within=plan)`` shares pair models).

    ``X`` holds the 16 features, ``country`` and ``day``; ``y_train`` / ``y_eval`` as for LOCO.
    """
    (result,) = within_country_evaluate_many(
        spec, X, [y_train], y_eval, plan, n_jobs=n_jobs, n_boot=n_boot, seed=seed,
        global_threshold=global_threshold, progress=progress, cache=cache,
        group_sizes=group_sizes,
    )  # fmt: skip
    return result


def within_country_evaluate_many(
    spec: PipelineSpec,
    X: pd.DataFrame,
    y_trains: Sequence[Any],
    y_eval: Any,
    plan: WithinPlan | None = None,
    *,
    n_jobs: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    global_threshold: float = 0.5,
    progress: ProgressFn | None = None,
    cache: dict[str, Any] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> list[WithinCountryResult]:
    """:func:`within_country_evaluate` for several training label vectors, in one worker pool.

    Same results as one call per vector (the attribution null's draws use it: a handful of fits
    each, which alone leave the workers idle at every draw's end).
    """
    started = time.perf_counter()
    plan = plan or WithinPlan()
    Xf = est.feature_matrix(X)
    countries = est.countries_of(X)
    days = days_of(X)
    yev = check_labels(y_eval, X, "y_eval")
    E = ~np.isnan(yev)
    codes = est.cluster_codes(countries, spec.clusters)
    jobs = []
    wfs = []
    for y_train in y_trains:
        ytr = check_labels(y_train, X, "y_train")
        T = ~np.isnan(ytr)
        if T.sum() == 0 or np.unique(ytr[T]).size < 2:
            raise InputError("y_train needs labelled samples of both classes")
        wf = plan.folds(countries, days, ytr, yev)
        wfs.append(wf)
        jobs.append((Data(Xf, countries, codes, ytr), T | E, wf.folds))
    all_parts = run_folds_many(
        spec, jobs, n_jobs=n_jobs, progress=progress, cache=cache, group_sizes=group_sizes
    )
    results = []
    for wf, parts in zip(wfs, all_parts, strict=True):
        result = plan.assemble(
            wf, parts, X.index, countries, days, yev, spec,
            global_threshold=global_threshold, n_boot=n_boot, seed=seed,
        )  # fmt: skip
        result.elapsed_seconds = time.perf_counter() - started
        results.append(result)
    return results
