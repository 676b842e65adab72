"""Replaying labelling with an oracle: does a query strategy beat random sampling?

Each run starts from the same training labels, then for ``rounds`` rounds: fit the model on the
current labels, score the target countries' unlabelled pool with the strategy, pick a batch of
``batch_size`` with the same selection code the real queue uses, let the oracle label it, and
measure the target countries' leave-one-country-out F1 (each target held out in turn, trained on
everything else with the current labels, scored against the oracle). Runs repeat over seeds, and
every strategy sees the same seeds, so differences are paired.

A *found positive* is an oracle-positive item whose training label was not already positive:
confirming a known incident day adds no signal, discovering a hidden one does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml.estimators import PipelineSpec, make_model
from labelbench.ml.evaluation import binary_scores
from labelbench.ml.selection import select_batch
from labelbench.ml.strategies import evidence_score, get_strategy, score_candidates

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SimulationConfig:
    """What to replay."""

    strategies: Sequence[str] = ("hybrid", "random")
    rounds: int = 5
    batch_size: int = 50
    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    f1_levels: Sequence[float] = (0.5, 0.6, 0.7)
    spec: PipelineSpec = field(default_factory=lambda: PipelineSpec(engine="fast"))
    n_jobs: int = 2

    def __post_init__(self) -> None:
        for name in self.strategies:
            get_strategy(name)
        if self.rounds < 1 or self.batch_size < 1 or not self.seeds:
            raise InputError("simulation needs rounds >= 1, batch size >= 1 and at least one seed")


@dataclass
class SimulationResult:
    """Long-format trajectories plus the summary the CLI prints."""

    trajectory: pd.DataFrame
    """strategy, seed, round, labels, country, found, labelled, f1."""
    targets: list[str]
    config: SimulationConfig
    pool_size: int = 0
    pool_hidden: int = 0
    """Oracle positives in the starting pool whose training label was not positive."""

    def summary(self) -> dict[str, Any]:
        """Per strategy: positives per 100 labels and target LOCO F1, intervals across seeds."""
        t = self.trajectory
        out: dict[str, Any] = {}
        last = t["round"].max()
        for strategy in self.config.strategies:
            s = t[t["strategy"] == strategy]
            end = s[s["round"] == last]
            start = s[s["round"] == 0]
            per_seed_rate = (
                end.groupby("seed")["found"].sum() / end.groupby("seed")["labelled"].sum() * 100
            )
            f1_start = start.groupby("seed")["f1"].mean()
            f1_end = end.groupby("seed")["f1"].mean()
            labels = float(end.groupby("seed")["labelled"].sum().mean())
            lift = (f1_end - f1_start) / max(labels, 1.0) * 100
            per_country = {}
            for country, g in end.groupby("country"):
                labelled = g["labelled"].sum()
                per_country[str(country)] = {
                    "labels": int(labelled),
                    "positives_found": int(g["found"].sum()),
                    "positives_per_100": _rate(g["found"].sum(), labelled),
                    "f1_start": _mean(s[(s["round"] == 0) & (s["country"] == country)]["f1"]),
                    "f1_end": _mean(g["f1"]),
                    "f1_end_ci": list(_ci(g["f1"].to_numpy())),
                    "labels_to_reach": self._labels_to_reach(s[s["country"] == country]),
                }
            out[strategy] = {
                "positives_per_100": _mean(per_seed_rate),
                "ceiling_per_100": _rate(min(self.pool_hidden, labels), labels),
                "random_expectation_per_100": _rate(self.pool_hidden, self.pool_size),
                "positives_per_100_ci": list(_ci(per_seed_rate.to_numpy())),
                "target_loco_f1_start": _mean(f1_start),
                "target_loco_f1_end": _mean(f1_end),
                "target_loco_f1_end_ci": list(_ci(f1_end.to_numpy())),
                "f1_gain_per_100_labels": _mean(lift),
                "f1_gain_per_100_labels_ci": list(_ci(lift.to_numpy())),
                "labels_per_seed": labels,
                "seeds": len(per_seed_rate),
                "per_country": per_country,
            }
        return out

    def _labels_to_reach(self, rows: pd.DataFrame) -> dict[str, float | None]:
        """Mean labels (of this country) needed before its F1 first reaches each level."""
        result: dict[str, float | None] = {}
        for level in self.config.f1_levels:
            needed = []
            for _, g in rows.groupby("seed"):
                g = g.sort_values("round")
                hit = g[g["f1"] >= level]
                if not hit.empty:
                    needed.append(float(hit["labelled"].iloc[0]))
            reached = len(needed) == rows["seed"].nunique() and needed
            result[f"{level:.2f}"] = float(np.mean(needed)) if reached else None
        return result


def _rate(found: float, labelled: float) -> float | None:
    return None if labelled == 0 else round(float(found) / float(labelled) * 100, 3)


def _mean(values: Any) -> float | None:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return None if arr.size == 0 else round(float(arr.mean()), 4)


def _ci(values: np.ndarray[Any, Any]) -> tuple[float | None, float | None]:
    """95% t-interval of the mean across seeds (None with fewer than two finite values)."""
    from scipy import stats

    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return (None, None)
    half = float(stats.t.ppf(0.975, arr.size - 1) * arr.std(ddof=1) / np.sqrt(arr.size))
    return (round(float(arr.mean() - half), 4), round(float(arr.mean() + half), 4))


def _fit(spec: PipelineSpec, X: pd.DataFrame, y: np.ndarray[Any, Any]) -> Any:
    with threadpool_limits(limits=1):
        return make_model(spec).fit(X, y.astype(int))


@dataclass
class HeldOut:
    """One LOCO round over the targets: F1 per country and out-of-country predictions."""

    f1: dict[str, float]
    parts: pd.DataFrame
    """Per sample of a target country (index = row): proba and the model's parts."""


def _heldout(
    spec: PipelineSpec, X: pd.DataFrame, y: np.ndarray[Any, Any], truth: np.ndarray[Any, Any],
    countries: np.ndarray[Any, Any], country: str,
) -> tuple[str, float, pd.DataFrame]:  # fmt: skip
    train = (countries != country) & ~np.isnan(y)
    test = np.flatnonzero(countries == country)
    model = _fit(spec, X[train], y[train])
    with threadpool_limits(limits=1):
        parts = model.predict_parts(X.iloc[test])
        parts["proba"] = model.predict_proba(X.iloc[test])[:, 1]
    parts.index = test
    t = truth[test].astype(int)
    f1 = (
        float(binary_scores(t, parts["proba"].to_numpy() >= 0.5)[0])
        if np.unique(t).size == 2
        else np.nan
    )
    return country, f1, parts


def held_out_round(
    spec: PipelineSpec, X: pd.DataFrame, y: np.ndarray[Any, Any], truth: np.ndarray[Any, Any],
    targets: Sequence[str], n_jobs: int,
) -> HeldOut:  # fmt: skip
    """Hold out each target country in turn, train on the rest with labels ``y``.

    The same models give the target's LOCO F1 against the oracle and the predictions used to
    rank its pool in the next round: a model that trained on a day's own (incident) label would
    just echo it, so in-sample probabilities cannot reveal a missed censorship day.
    """
    countries = X["country"].to_numpy()
    results = Parallel(n_jobs=n_jobs)(
        delayed(_heldout)(spec, X, y, truth, countries, c) for c in targets
    )
    f1 = {c: score for c, score, _ in results}
    parts = pd.concat([p for _, _, p in results]).sort_index()
    return HeldOut(f1, parts)


def simulate(
    samples: pd.DataFrame,
    y_start: np.ndarray[Any, Any],
    oracle: np.ndarray[Any, Any],
    targets: Sequence[str],
    config: SimulationConfig,
    *,
    pool_mask: np.ndarray[Any, Any] | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Replay labelling for every (strategy, seed).

    ``samples`` holds ``sample_id, country, day``, the 16 features and ``incident_label``;
    ``y_start`` the training labels (NaN = excluded); ``oracle`` the answer an analyst would give
    (0/1) for every sample; ``pool_mask`` which samples may be queued (default: every sample of
    a target country).
    """
    samples = samples.reset_index(drop=True)
    countries = samples["country"].astype(str).to_numpy()
    targets = [c for c in targets if (countries == c).any()]
    if not targets:
        raise InputError("no target country has samples")
    X = samples[[*FEATURES, "country"]]
    base_pool = np.isin(countries, targets) if pool_mask is None else pool_mask.copy()
    total = 1 + len(config.seeds) * len(config.strategies) * config.rounds
    done = 0
    rows: list[dict[str, Any]] = []
    spec = config.spec

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    start = held_out_round(spec, X, y_start, oracle, targets, config.n_jobs)  # shared by all runs
    tick()
    for seed in config.seeds:
        for strategy in config.strategies:
            for c in targets:
                rows.append(_row(strategy, seed, 0, c, 0, 0, start.f1.get(c, np.nan)))
            rng = np.random.default_rng(seed)
            y = y_start.astype(float).copy()
            pool = base_pool.copy()
            found_by: dict[str, int] = dict.fromkeys(targets, 0)
            labelled_by: dict[str, int] = dict.fromkeys(targets, 0)
            current = start
            for rnd in range(1, config.rounds + 1):
                idx = np.flatnonzero(pool & np.isin(countries, targets))
                cand = samples.iloc[idx].copy()
                preds = current.parts.loc[idx]
                for col in ("proba", "proba_base", "proba_cluster", "proba_stack"):
                    cand[col] = preds[col].to_numpy()
                cand["threshold"] = 0.5
                cand["oof_proba"] = cand["proba"]
                cand["rereview"] = False
                positives = pd.Series(y == 1).groupby(countries).sum()
                scores = score_candidates(
                    cand, strategy, rng,
                    positive_counts={str(k): int(v) for k, v in positives.items()},
                    positives=samples[y == 1],
                )  # fmt: skip
                batch = select_batch(
                    cand, scores.values, size=config.batch_size, strategy_name=strategy, rng=rng,
                    scorers=scores.scorer, exploration_scores=evidence_score(cand),
                )  # fmt: skip
                chosen = idx[np.isin(samples["sample_id"].to_numpy()[idx], batch["sample_id"])]
                for i in chosen:
                    c = countries[i]
                    labelled_by[c] += 1
                    if oracle[i] == 1 and y[i] != 1:
                        found_by[c] += 1
                y[chosen] = oracle[chosen]
                pool[chosen] = False
                current = held_out_round(spec, X, y, oracle, targets, config.n_jobs)
                for c in targets:
                    rows.append(
                        _row(strategy, seed, rnd, c, found_by[c], labelled_by[c],
                             current.f1.get(c, np.nan))
                    )  # fmt: skip
                tick()
    trajectory = pd.DataFrame(rows)
    totals = trajectory.groupby(["strategy", "seed", "round"])["labelled"].transform("sum")
    trajectory.insert(3, "labels", totals)
    start_pool = base_pool & np.isin(countries, targets)
    hidden = int(((oracle == 1) & (y_start != 1) & start_pool).sum())
    return SimulationResult(trajectory, list(targets), config, int(start_pool.sum()), hidden)


def _row(
    strategy: str, seed: int, rnd: int, country: str, found: int, labelled: int, f1: float
) -> dict[str, Any]:
    return {
        "strategy": strategy, "seed": seed, "round": rnd, "country": country,
        "found": found, "labelled": labelled, "f1": f1,
    }  # fmt: skip
