"""The replay counts what it says, never lets a strategy see the oracle, and pairs its arms."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labelbench.domain.constants import FEATURES
from labelbench.ml import simulation
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.simulation import ORACLE, RANDOM, VISIBLE_COLUMNS, SimulationConfig, World

COUNTRIES = ("OM", "LY", "AE", "SA", "IR", "DE")
TARGETS = ["OM", "LY"]
SPEC = PipelineSpec(engine="fast", base_params={"max_iter": 20})


def small_world(seed: int = 0, days: int = 45) -> World:
    """Six countries; censorship days are anomalous; targets hide positives among candidates."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for country in COUNTRIES:
        target = country in TARGETS
        for d in range(days):
            truth = rng.random() < 0.15
            busy = rng.random() < (0.6 if truth else 0.3)
            n = int(rng.integers(5, 20)) if busy else int(rng.integers(1, 5))
            rate = rng.beta(6, 3) if truth else rng.beta(1, 9)
            feats = {f: rng.normal() for f in FEATURES}
            feats.update(anomaly_rate=rate, measurement_count=float(n), month=1.0 + d % 12)
            reported = truth and (rng.random() < (0.3 if target else 0.9))
            rows.append(
                {
                    "country": country,
                    "day": dt.date(2026, 1, 1) + dt.timedelta(days=d),
                    **feats,
                    "incident_label": int(reported),
                    "candidate_only": not busy,
                    "truth": int(truth),
                }
            )
    frame = pd.DataFrame(rows)
    frame["sample_id"] = np.arange(1, len(frame) + 1)
    y = np.where(frame["candidate_only"], np.nan, frame["incident_label"].astype(float))
    pool = frame["country"].isin(TARGETS).to_numpy()
    return World(frame[list(VISIBLE_COLUMNS)], y, frame["truth"].to_numpy(), pool, f"w{seed}")


def config(**kwargs: Any) -> SimulationConfig:
    base: dict[str, Any] = {
        "strategies": ("hybrid", RANDOM),
        "rounds": 2,
        "batch_size": 10,
        "seeds": (0, 1),
        "spec": SPEC,
        "n_jobs": 1,
        "folds": 2,
    }
    base.update(kwargs)
    return SimulationConfig(**base)


def test_found_counts_oracle_positives_that_were_not_already_positive() -> None:
    world = small_world()
    pool_size = int(world.pool.sum())
    result = simulation.simulate([world], TARGETS, config(batch_size=pool_size, rounds=1))
    t = result.trajectory
    end = t[(t["strategy"] == RANDOM) & (t["round"] == 1)]
    frame = world.frame
    new = (world.oracle == 1) & (frame["incident_label"].to_numpy() == 0) & (world.y != 1)
    for (run, country), g in end.groupby(["run", "country"]):
        mine = world.pool & (frame["country"] == country).to_numpy()
        assert int(g["labelled"].iloc[0]) == int(mine.sum())  # the whole pool was labelled
        assert int(g["found"].iloc[0]) == int((mine & new).sum()), (run, country)
    # Incident-positive days the oracle confirms are labels, never finds.
    assert int((world.pool & (world.oracle == 1) & ~new).sum()) > 0
    hidden = result.pools.groupby("country")["hidden"].first()
    assert hidden.to_dict() == {
        c: int((world.pool & new & (frame["country"] == c).to_numpy()).sum()) for c in TARGETS
    }


def test_strategies_never_see_the_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flipping every answer changes no pick of the first round, and no oracle column leaks."""
    seen: list[set[str]] = []
    real = simulation.plan_batch

    def spy(pool: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        seen.append(set(pool.columns))
        return real(pool, **kwargs)

    monkeypatch.setattr(simulation, "plan_batch", spy)
    world = small_world()
    flipped = World(world.frame, world.y, 1 - world.oracle, world.pool, world.name)
    cfg = config(strategies=("hybrid",), rounds=1, seeds=(0,))
    a = simulation.simulate([world], TARGETS, cfg).trajectory
    b = simulation.simulate([flipped], TARGETS, cfg).trajectory
    picks = ["strategy", "country", "labelled"]
    first = (a["round"] == 1) & (a["strategy"] == "hybrid")
    pd.testing.assert_frame_equal(
        a.loc[first, picks].reset_index(drop=True),
        b.loc[(b["round"] == 1) & (b["strategy"] == "hybrid"), picks].reset_index(drop=True),
    )
    assert seen and all(cols.isdisjoint({"truth", "oracle", "is_censorship"}) for cols in seen)


def test_every_strategy_runs_the_same_seeds_from_one_shared_round_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = simulation.predict_round

    def counting(spec: PipelineSpec, *args: Any, **kwargs: Any) -> Any:
        calls.append(spec.random_state)
        return real(spec, *args, **kwargs)

    monkeypatch.setattr(simulation, "predict_round", counting)
    cfg = config()
    t = simulation.simulate([small_world()], TARGETS, cfg).trajectory
    runs = {s: sorted(set(zip(g["run"], g["seed"], strict=True))) for s, g in t.groupby("strategy")}
    assert runs["hybrid"] == runs[RANDOM] == runs[ORACLE] == [(0, 0), (1, 1)]
    start = t[t["round"] == 0].pivot_table(index=["run", "country"], columns="strategy",
                                           values="f1")  # fmt: skip
    assert (start["hybrid"] == start[RANDOM]).all()
    # Per run: one shared round 0, one model per hybrid round, random's model at the end only.
    assert sorted(calls) == sorted([0, 1] * (1 + cfg.rounds + 1))


def test_summary_reports_oracle_share_and_intervals() -> None:
    result = simulation.simulate([small_world(0), small_world(1)], TARGETS, config())
    summary = result.summary()
    hybrid = summary["hybrid"]
    assert hybrid["oracle_positives_per_100"] == summary[ORACLE]["positives_per_100"]
    assert 0 < hybrid["share_of_oracle"] <= 1 == summary[ORACLE]["share_of_oracle"]
    assert len(hybrid["positives_per_100_ci"]) == 2 and hybrid["seeds"] == 2
    assert set(hybrid["per_country"]["OM"]) >= {
        "pool", "hidden", "positives_per_100", "labels_to_reach", "f1_end_ci",
    }  # fmt: skip
    assert sorted(set(result.pools["world"])) == ["w0", "w1"]  # one run per world
