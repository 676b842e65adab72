"""Replaying labelling with an oracle: does a query strategy beat random sampling?

A *run* is one world (a candidate frame, its training labels and its oracle) and one seed. Every
strategy of a run starts from the same state, and the round-0 model is fitted once per run and
shared by them, so differences between strategies are paired. The seed drives the model's
``random_state`` and every random choice (tie-breaks, exploration, the random arm), so the
interval across runs reflects both the world (when runs use different worlds) and the model.

Each round replays `queue build`: fit the production pipeline on the current labels; predict the
pool the way the queue's predictor does (the model trained on every label for days that are not
training rows, out-of-fold for training rows, whose in-sample probability only echoes their own
label); per-country serving thresholds from those out-of-fold probabilities; the same
:func:`labelbench.ml.batching.plan_batch` (discovery + a small confirmation share, quotas,
exploration, exhaustive review) with the same stopping signal (yield over the last labels and
out-of-fold prediction drift between consecutive models). The oracle labels the batch.

Arms that are not strategies: ``random`` is pool-uniform random sampling (what a user means by
"random"), ``oracle`` picks the country's new positives first under the same quotas (the ceiling).

A *found* positive is an oracle-positive day whose incident label (in the view the strategies
see) is 0 and whose training label was not already positive: a new positive, as
:func:`labelbench.domain.labels.outcome` counts them. The strategies never see the oracle.

Out-of-fold here means leave-target-group-out: the targets are split into ``folds`` groups and
each group is predicted by a model trained without it (LOCO when ``folds`` >= the targets). The
same models give each target's F1 against the oracle on its production samples (threshold 0.5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml.batching import plan_batch
from labelbench.ml.estimators import PipelineSpec, make_model
from labelbench.ml.evaluation import binary_scores, f1_optimal_threshold, shrunk_threshold
from labelbench.ml.selection import allocate_quotas, stopping_signal
from labelbench.ml.strategies import get_strategy

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Progress = Callable[[int, int], None]
#: Arms that are not registered strategies.
RANDOM, ORACLE = "random", "oracle"
#: Columns the replay hands to strategies; nothing else of the world reaches them.
VISIBLE_COLUMNS = ("sample_id", "country", "day", *FEATURES, "incident_label", "candidate_only")


@dataclass(frozen=True)
class SimulationConfig:
    """What to replay, and the queue settings it replays with."""

    strategies: Sequence[str] = ("hybrid", RANDOM)
    rounds: int = 5
    batch_size: int = 50
    seeds: Sequence[int] = (0, 1, 2)
    spec: PipelineSpec = field(default_factory=lambda: PipelineSpec(engine="fast"))
    n_jobs: int = 2
    exploration_share: float = 0.2
    confirm_share: float = 0.05
    stop_window: int = 20
    stop_min_yield: float = 0.05
    folds: int = 4
    threshold_shrinkage: float = 30.0
    f1_levels: Sequence[float] = (0.5, 0.6, 0.7)

    def __post_init__(self) -> None:
        for name in self.strategies:
            if name not in (RANDOM, ORACLE):
                get_strategy(name)
        if self.rounds < 1 or self.batch_size < 1 or not self.seeds or self.folds < 2:
            raise InputError("simulation needs rounds >= 1, batch size >= 1, a seed, folds >= 2")


@dataclass(frozen=True)
class World:
    """One replayable world: what strategies may see, and the answers they may not."""

    frame: pd.DataFrame
    """:data:`VISIBLE_COLUMNS`, one row per candidate day (training rows of every country)."""
    y: FloatArray
    """Training labels (NaN: not a training row: an unlabelled candidate day, or excluded)."""
    oracle: npt.NDArray[np.int64]
    """What an analyst would answer (0/1) for every row."""
    pool: BoolArray
    """Rows that may be queued (unlabelled days of the target countries)."""
    name: str = "world"


@dataclass
class SimulationResult:
    """Long-format trajectories plus the summary the CLI prints."""

    trajectory: pd.DataFrame
    """strategy, run, world, seed, round, labels, country, found, labelled, f1."""
    targets: list[str]
    config: SimulationConfig
    pools: pd.DataFrame
    """run, world, country, pool, hidden: each run's starting pool and its new positives."""

    def summary(self) -> dict[str, Any]:
        """Per strategy: positives per 100 labels and target F1 gain, intervals across runs."""
        t = self.trajectory
        last = t["round"].max()
        out: dict[str, Any] = {}
        oracle_rate = _per_run_rate(t[(t["strategy"] == ORACLE) & (t["round"] == last)])
        pools = self.pools.groupby("run")[["pool", "hidden"]].sum()
        expectation = pools["hidden"] / pools["pool"] * 100
        for strategy in [*self.config.strategies, ORACLE]:
            s = t[t["strategy"] == strategy]
            end, start = s[s["round"] == last], s[s["round"] == 0]
            rate = _per_run_rate(end)
            f1_start = start.groupby("run")["f1"].mean()
            f1_end = end.groupby("run")["f1"].mean()
            labels = float(end.groupby("run")["labelled"].sum().mean())
            lift = (f1_end - f1_start) / max(labels, 1.0) * 100
            share = rate / oracle_rate.reindex(rate.index)
            entry: dict[str, Any] = {
                "positives_per_100": _mean(rate),
                "positives_per_100_ci": list(_ci(rate.to_numpy())),
                "oracle_positives_per_100": _mean(oracle_rate),
                "share_of_oracle": _mean(share),
                "share_of_oracle_ci": list(_ci(share.to_numpy())),
                "ceiling_per_100": _mean(oracle_rate),
                "random_expectation_per_100": _mean(expectation),
                "target_loco_f1_start": _mean(f1_start),
                "target_loco_f1_end": _mean(f1_end),
                "target_loco_f1_end_ci": list(_ci(f1_end.to_numpy())),
                "f1_gain_per_100_labels": _mean(lift),
                "f1_gain_per_100_labels_ci": list(_ci(lift.to_numpy())),
                "labels_per_seed": labels,
                "seeds": int(rate.size),
                "per_country": self._per_country(s, end),
            }
            if strategy != RANDOM:
                # Against what pool-uniform random finds on average (the pool's share of new
                # positives, exact); the random arm's own count is a handful of days per run.
                ratio = rate / expectation.reindex(rate.index).replace(0, np.nan)
                entry["vs_random"] = _mean(ratio)
                entry["vs_random_ci"] = list(_ci(ratio.to_numpy()))
            out[strategy] = entry
        return out

    def _per_country(self, s: pd.DataFrame, end: pd.DataFrame) -> dict[str, Any]:
        per_country: dict[str, Any] = {}
        pools = self.pools.groupby("country")[["pool", "hidden"]].mean()
        for country, g in end.groupby("country"):
            labelled = g["labelled"].sum()
            start = s[(s["round"] == 0) & (s["country"] == country)]["f1"]
            per_country[str(country)] = {
                "pool": _mean([pools.loc[country, "pool"]]),
                "hidden": _mean([pools.loc[country, "hidden"]]),
                "labels": int(labelled),
                "positives_found": int(g["found"].sum()),
                "positives_per_100": _rate(g["found"].sum(), labelled),
                "f1_start": _mean(start),
                "f1_end": _mean(g["f1"]),
                "f1_end_ci": list(_ci(g["f1"].to_numpy())),
                "labels_to_reach": self._labels_to_reach(s[s["country"] == country]),
            }
        return per_country

    def _labels_to_reach(self, rows: pd.DataFrame) -> dict[str, float | None]:
        """Mean labels (of this country) before its F1 first reaches each level, in every run."""
        result: dict[str, float | None] = {}
        for level in self.config.f1_levels:
            needed = []
            for _, g in rows.groupby("run"):
                hit = g.sort_values("round")
                hit = hit[hit["f1"] >= level]
                if not hit.empty:
                    needed.append(float(hit["labelled"].iloc[0]))
            reached = bool(needed) and len(needed) == rows["run"].nunique()
            result[f"{level:.2f}"] = float(np.mean(needed)) if reached else None
        return result


def _per_run_rate(end: pd.DataFrame) -> pd.Series:
    by_run = end.groupby("run")
    return by_run["found"].sum() / by_run["labelled"].sum().replace(0, np.nan) * 100


def _rate(found: float, labelled: float) -> float | None:
    return None if labelled == 0 else round(float(found) / float(labelled) * 100, 3)


def _mean(values: Any) -> float | None:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return None if arr.size == 0 else round(float(arr.mean()), 4)


def _ci(values: npt.NDArray[Any]) -> tuple[float | None, float | None]:
    """95% t-interval of the mean across runs (None with fewer than two finite values)."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return (None, None)
    half = float(stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return (round(float(arr.mean() - half), 4), round(float(arr.mean() + half), 4))


# ------------------------------------------------------------------------------------ models


@dataclass(frozen=True)
class Predictions:
    """One round's models, reduced to what the queue and the evaluation read."""

    proba: FloatArray
    """Per row: the queue's probability (out-of-fold for training rows; NaN outside targets)."""
    oof: FloatArray
    """Out-of-fold probability of the target rows (NaN elsewhere)."""
    f1: dict[str, float]
    thresholds: dict[str, float]


def _fit(spec: PipelineSpec, X: pd.DataFrame, y: FloatArray) -> Any:
    with threadpool_limits(limits=1):
        return make_model(spec).fit(X, y.astype(int))


def _proba(model: Any, X: pd.DataFrame) -> FloatArray:
    with threadpool_limits(limits=1):
        return np.asarray(model.predict_proba(X)[:, 1], dtype=np.float64)


def predict_round(
    spec: PipelineSpec,
    world: World,
    y: FloatArray,
    targets: Sequence[str],
    folds: int,
    shrinkage: float,
) -> Predictions:
    """Fit the round's models and predict the targets' rows as the queue would."""
    frame = world.frame
    X = frame[[*FEATURES, "country"]]
    countries = frame["country"].astype(str).to_numpy()
    trains = ~np.isnan(y)
    in_target = np.isin(countries, targets)
    proba = np.full(len(frame), np.nan)
    oof = np.full(len(frame), np.nan)
    rows = np.flatnonzero(in_target)
    proba[rows] = _proba(_fit(spec, X[trains], y[trains]), X.iloc[rows])
    groups = [list(targets[i::folds]) for i in range(min(folds, len(targets)))]
    for group in groups:
        held = np.isin(countries, group)
        model = _fit(spec, X[trains & ~held], y[trains & ~held])
        idx = np.flatnonzero(held)
        oof[idx] = _proba(model, X.iloc[idx])
    proba = np.where(in_target & trains, oof, proba)
    sample = ~frame["candidate_only"].astype(bool).to_numpy()
    f1: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    for country in targets:
        mine = countries == country
        ev = mine & sample
        truth = world.oracle[ev]
        f1[country] = (
            float(binary_scores(truth, oof[ev] >= 0.5)[0])
            if np.unique(truth).size == 2
            else float("nan")
        )
        known = mine & trains
        t_hat = f1_optimal_threshold(y[known], oof[known]) if known.any() else None
        thresholds[country] = shrunk_threshold(t_hat, int(known.sum()), 0.5, shrinkage)
    return Predictions(proba, oof, f1, thresholds)


# -------------------------------------------------------------------------------------- runs


@dataclass
class _Run:
    """One (world, seed) replay of every arm."""

    index: int
    world: World
    seed: int


def _candidates(world: World, idx: npt.NDArray[np.int64], preds: Predictions) -> pd.DataFrame:
    """The queue's candidate frame for pool rows ``idx``: visible columns and predictions."""
    cand = world.frame.iloc[idx][list(VISIBLE_COLUMNS)].copy()
    cand["proba"] = preds.proba[idx]
    cand["proba_base"] = preds.proba[idx]
    cand["proba_cluster"] = np.nan
    cand["proba_stack"] = np.nan
    cand["threshold"] = [preds.thresholds.get(str(c), 0.5) for c in cand["country"]]
    cand["oof_proba"] = preds.oof[idx]
    cand["rereview"] = False
    return cand.reset_index(drop=True)


def _oracle_pick(
    world: World, idx: npt.NDArray[np.int64], new: BoolArray, size: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """The ceiling: each country's new positives first, under the queue's equal quotas."""
    countries = world.frame["country"].astype(str).to_numpy()[idx]
    names, counts = np.unique(countries, return_counts=True)
    quota = allocate_quotas({str(c): int(k) for c, k in zip(names, counts, strict=True)}, size)
    key = new[idx].astype(float) + rng.random(len(idx)) * 0.5
    chosen: list[int] = []
    for country, q in quota.items():
        mine = np.flatnonzero(countries == country)
        chosen += idx[mine[np.argsort(-key[mine])[:q]]].tolist()
    return np.asarray(chosen, dtype=np.int64)


def _replay(
    run: _Run, strategy: str, start: Predictions, targets: Sequence[str], config: SimulationConfig
) -> list[dict[str, Any]]:
    world = run.world
    spec = _spec_for(config.spec, run.seed)
    rng = np.random.default_rng([run.seed, 7919])
    frame = world.frame
    countries = frame["country"].astype(str).to_numpy()
    incident = frame["incident_label"].to_numpy() == 1
    y = world.y.copy()
    pool = world.pool & np.isin(countries, targets)
    found_by = dict.fromkeys(targets, 0)
    labelled_by = dict.fromkeys(targets, 0)
    history: list[tuple[str, str, int]] = []
    rows = [_row(strategy, run, 0, c, 0, 0, start.f1.get(c, np.nan)) for c in targets]
    current, previous = start, None
    for rnd in range(1, config.rounds + 1):
        idx = np.flatnonzero(pool)
        if len(idx) == 0:
            break
        new = (world.oracle == 1) & ~incident & (y != 1)
        if strategy == RANDOM:
            chosen = rng.choice(idx, size=min(config.batch_size, len(idx)), replace=False)
        elif strategy == ORACLE:
            chosen = _oracle_pick(world, idx, new, config.batch_size, rng)
        else:
            chosen = _queue_pick(world, idx, y, current, previous, history, strategy, rng, config)
        for i in chosen:
            c = countries[i]
            labelled_by[c] += 1
            found_by[c] += int(new[i])
            history.append((c, "positive" if world.oracle[i] == 1 else "negative", len(history)))
        y[chosen] = world.oracle[chosen]
        pool[chosen] = False
        # Random needs a model only to measure its F1 at the end; the oracle needs none.
        fit = strategy not in (RANDOM, ORACLE) or (strategy == RANDOM and rnd == config.rounds)
        if fit:
            previous = current
            current = predict_round(
                spec, world, y, targets, config.folds, config.threshold_shrinkage
            )
        f1 = current.f1 if fit else {}
        for c in targets:
            rows.append(_row(strategy, run, rnd, c, found_by[c], labelled_by[c], f1.get(c, np.nan)))
    return rows


def _queue_pick(
    world: World,
    idx: npt.NDArray[np.int64],
    y: FloatArray,
    current: Predictions,
    previous: Predictions | None,
    history: list[tuple[str, str, int]],
    strategy: str,
    rng: np.random.Generator,
    config: SimulationConfig,
) -> npt.NDArray[np.int64]:
    """What `queue build` would serve from the pool rows ``idx`` (sample ids are unique)."""
    cand = _candidates(world, idx, current)
    drift = None
    if previous is not None:
        drift = pd.DataFrame(
            {
                "country": cand["country"].to_numpy(),
                "proba_prev": previous.proba[idx],
                "proba_curr": current.proba[idx],
            }
        )
    stopping = stopping_signal(
        pd.DataFrame(history, columns=["country", "verdict", "labelled_at"]),
        predictions=drift,
        window=config.stop_window,
        min_yield=config.stop_min_yield,
    )
    countries = world.frame["country"].astype(str)
    positives = (pd.Series(y == 1) | (world.frame["incident_label"] == 1)).groupby(countries).sum()
    batch = plan_batch(
        cand,
        strategy=strategy,
        size=config.batch_size,
        rng=rng,
        exploration_share=config.exploration_share,
        confirm_share=config.confirm_share,
        stopping=stopping,
        positive_counts={str(k): int(v) for k, v in positives.items()},
        positives=world.frame[y == 1],
    )
    picked = set(batch["sample_id"].tolist())
    ids = world.frame["sample_id"].to_numpy()[idx]
    return idx[np.fromiter((i in picked for i in ids), dtype=bool, count=len(ids))]


def _spec_for(spec: PipelineSpec, seed: int) -> PipelineSpec:
    data = spec.to_dict()
    data["random_state"] = int(seed)
    return PipelineSpec.from_dict(data)


def _run_all(run: _Run, targets: Sequence[str], config: SimulationConfig) -> list[dict[str, Any]]:
    spec = _spec_for(config.spec, run.seed)
    start = predict_round(spec, run.world, run.world.y, targets, config.folds,
                          config.threshold_shrinkage)  # fmt: skip
    rows: list[dict[str, Any]] = []
    for strategy in [*config.strategies, ORACLE]:
        if strategy == ORACLE and ORACLE in config.strategies[:-1]:
            continue
        rows += _replay(run, strategy, start, targets, config)
    return rows


def simulate(
    worlds: Sequence[World],
    targets: Sequence[str],
    config: SimulationConfig,
    *,
    progress: Progress | None = None,
) -> SimulationResult:
    """Replay every arm for every (world, seed) run; runs go in parallel over ``n_jobs``."""
    if not worlds:
        raise InputError("no world to replay")
    present = set(worlds[0].frame["country"].astype(str))
    targets = [c for c in targets if c in present]
    if not targets:
        raise InputError("no target country has samples")
    # Several worlds: one run each (the benchmark's world seeds); one world: one run per seed.
    pairs = (
        [(world, config.seeds[w % len(config.seeds)]) for w, world in enumerate(worlds)]
        if len(worlds) > 1
        else [(worlds[0], seed) for seed in config.seeds]
    )
    runs = [_Run(k, world, seed) for k, (world, seed) in enumerate(pairs)]
    results: list[list[dict[str, Any]]] = []
    parallel = Parallel(n_jobs=min(config.n_jobs, len(runs)), return_as="generator")
    tasks = parallel(delayed(_run_all)(run, targets, config) for run in runs)
    for done, rows in enumerate(tasks, start=1):
        results.append(rows)
        if progress is not None:
            progress(done, len(runs))
    trajectory = pd.DataFrame([r for rows in results for r in rows])
    totals = trajectory.groupby(["strategy", "run", "round"])["labelled"].transform("sum")
    trajectory.insert(5, "labels", totals)
    return SimulationResult(trajectory, list(targets), config, _pools(runs, targets))


def _pools(runs: Sequence[_Run], targets: Sequence[str]) -> pd.DataFrame:
    records = []
    for run in runs:
        frame = run.world.frame
        countries = frame["country"].astype(str).to_numpy()
        new = (
            (run.world.oracle == 1) & (frame["incident_label"].to_numpy() != 1) & (run.world.y != 1)
        )
        for c in targets:
            mine = run.world.pool & (countries == c)
            records.append((run.index, run.world.name, c, int(mine.sum()), int((mine & new).sum())))
    return pd.DataFrame(records, columns=["run", "world", "country", "pool", "hidden"])


def _row(
    strategy: str, run: _Run, rnd: int, country: str, found: int, labelled: int, f1: float
) -> dict[str, Any]:
    return {
        "strategy": strategy, "run": run.index, "world": run.world.name, "seed": run.seed,
        "round": rnd, "country": country, "found": found, "labelled": labelled, "f1": f1,
    }  # fmt: skip
