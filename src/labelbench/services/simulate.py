"""`labelbench simulate`: replay labelling with an oracle to compare query strategies.

Two oracles:
- ``truth`` (the demo world): the hidden truth table answers, so strategies are judged on the
  censorship days that incidents missed;
- ``withheld`` (any database): a share of the target countries' incident positives is hidden.
  Hidden means hidden everywhere the strategies look: the withheld days get training label 0
  *and* incident label 0 in the view handed to the replay (see :func:`withheld_view`), while the
  original labels answer.

:func:`demo_worlds` builds demo worlds in memory for several world seeds (the benchmark), without
a database; the replay is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from labelbench.db.truth import DemoTruth
from labelbench.domain.constants import MIN_CANDIDATE_EVIDENCE, MIN_EVIDENCE_ROWS
from labelbench.domain.countries import default_neighbours
from labelbench.errors import InputError
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.features import build_samples
from labelbench.ml.simulation import (
    VISIBLE_COLUMNS,
    SimulationConfig,
    SimulationResult,
    World,
    simulate,
)
from labelbench.services.labels import training_frame
from labelbench.services.queue import target_countries
from labelbench.services.reference import effective_clusters
from labelbench.services.workspace import Workspace
from labelbench.synth.demo import generate_demo_world


@dataclass
class SimulationRun:
    mode: str
    result: SimulationResult
    csv_path: Path | None
    png_path: Path | None
    hidden_labels: int

    def to_dict(self) -> dict[str, Any]:
        pools = self.result.pools.groupby("run")[["pool", "hidden"]].sum().mean()
        return {
            "mode": self.mode,
            "targets": self.result.targets,
            "rounds": self.result.config.rounds,
            "batch_size": self.result.config.batch_size,
            "seeds": list(self.result.config.seeds),
            "worlds": sorted(set(self.result.pools["world"])),
            "hidden_labels": self.hidden_labels,
            "pool_size": round(float(pools["pool"]), 1),
            "pool_hidden_positives": round(float(pools["hidden"]), 1),
            "strategies": self.result.summary(),
            "csv": str(self.csv_path) if self.csv_path else None,
            "chart": str(self.png_path) if self.png_path else None,
        }


def withheld_view(
    frame: pd.DataFrame, targets: Sequence[str], share: float, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Hide ``share`` of the targets' incident positives: the view, the oracle and the mask.

    The view sets both ``label`` and ``incident_label`` of the withheld days to 0 (a missed
    incident looks exactly like that), so nothing a strategy reads tells them apart from other
    incident-negative days. The oracle is the original label (unlabelled candidate days: 0).
    """
    y = frame["label"].to_numpy(dtype=float)
    oracle = np.where(np.isnan(y), 0, y).astype(np.int64)
    in_target = frame["country"].isin(list(targets)).to_numpy()
    positives = np.flatnonzero(in_target & (y == 1) & (frame["label_source"] == "incident"))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(positives, size=round(len(positives) * share), replace=False)
    mask = np.zeros(len(frame), dtype=bool)
    mask[chosen] = True
    view = frame.copy()
    view.loc[mask, "label"] = 0.0
    view.loc[mask, "incident_label"] = 0
    return view, oracle, mask


def _world(frame: pd.DataFrame, oracle: np.ndarray[Any, Any], targets: Sequence[str],
           name: str) -> World:  # fmt: skip
    visible = frame.rename(columns={"id": "sample_id"})
    pool = visible["country"].isin(list(targets)).to_numpy() & (
        visible["label_source"] != "human"
    ).to_numpy() & visible["human_verdict"].isna().to_numpy()  # fmt: skip
    return World(
        frame=visible[list(VISIBLE_COLUMNS)].reset_index(drop=True),
        y=visible["label"].to_numpy(dtype=float),
        oracle=np.asarray(oracle, dtype=np.int64),
        pool=pool,
        name=name,
    )


def demo_worlds(
    seeds: Sequence[int],
    targets: Sequence[str],
    *,
    min_evidence: int = MIN_EVIDENCE_ROWS,
    min_candidate: int = MIN_CANDIDATE_EVIDENCE,
) -> list[World]:
    """Demo worlds built in memory (no database, no human labels) for the given world seeds."""
    worlds = []
    neighbours = default_neighbours()
    for seed in seeds:
        w = generate_demo_world(seed)
        built = build_samples(w.evidence, w.incidents, w.probe_metrics, neighbours,
                              min_evidence=min_candidate)  # fmt: skip
        built = built.merge(w.truth[["country", "day", "is_censorship"]], on=["country", "day"],
                            how="left")  # fmt: skip
        candidate = built["evidence_count"].to_numpy() < min_evidence
        frame = built.assign(
            id=np.arange(1, len(built) + 1),
            candidate_only=candidate,
            label=np.where(candidate, np.nan, built["incident_label"].astype(float)),
            label_source=np.where(candidate, "candidate", "incident"),
            human_verdict=None,
        )
        oracle = frame["is_censorship"].fillna(False).astype(int).to_numpy()
        worlds.append(_world(frame, oracle, targets, f"demo-{seed}"))
    return worlds


def simulation_config(
    ws: Workspace,
    *,
    strategies: Sequence[str],
    rounds: int,
    batch_size: int,
    seeds: Sequence[int],
    jobs: int | None,
) -> SimulationConfig:
    """The replay's settings: the production pipeline spec and the queue's own settings."""
    t, q = ws.settings.training, ws.settings.queue
    with ws.transaction(readonly=True) as session:
        clusters = effective_clusters(session, ws.settings)
    return SimulationConfig(
        strategies=tuple(strategies),
        rounds=rounds,
        batch_size=batch_size,
        seeds=tuple(seeds),
        spec=PipelineSpec(
            pipeline=t.pipeline,
            engine="fast",
            base_params=dict(t.base_params),
            clusters=clusters,
            random_state=t.random_state,
        ),
        n_jobs=jobs if jobs is not None else t.jobs,
        exploration_share=q.exploration_share,
        confirm_share=q.confirm_share,
        stop_window=q.stop_window,
        stop_min_yield=q.stop_min_yield,
    )


def run_simulation(
    ws: Workspace,
    *,
    strategies: Sequence[str] = ("hybrid", "random"),
    rounds: int = 5,
    batch_size: int = 50,
    seeds: int = 3,
    countries: Sequence[str] | None = None,
    mode: str = "auto",
    withhold_share: float = 0.5,
    out_dir: Path | None = None,
    jobs: int | None = None,
    world_seeds: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationRun:
    """Load (or, with ``world_seeds``, generate) the worlds, replay, write the CSV and chart."""
    if mode not in ("auto", "truth", "withheld"):
        raise InputError("mode must be auto, truth or withheld")
    if not 0 < withhold_share < 1:
        raise InputError("withhold share must be between 0 and 1")
    with ws.transaction(readonly=True) as session:
        # Default targets: the watch list (the countries the mission is about).
        wanted = list(countries or ws.settings.watch_list)
        targets = wanted if world_seeds else target_countries(session, ws.settings, wanted)
        has_truth = (session.scalar(select(func.count()).select_from(DemoTruth)) or 0) > 0
        frame = training_frame(session, include_candidates=True) if world_seeds is None else None
        truth = (
            pd.DataFrame(
                session.execute(
                    select(DemoTruth.country, DemoTruth.day, DemoTruth.is_censorship)
                ).all(),
                columns=["country", "day", "is_censorship"],
            )
            if has_truth and frame is not None
            else None
        )
    has_truth = has_truth or world_seeds is not None  # generated worlds carry their truth
    if mode == "truth" and not has_truth:
        raise InputError("this database has no demo truth; use --mode withheld")
    mode = "truth" if mode == "auto" and has_truth else ("withheld" if mode == "auto" else mode)
    hidden = 0
    if world_seeds is not None:
        if mode != "truth":
            raise InputError("generated demo worlds replay with the truth oracle")
        s = ws.settings
        worlds = demo_worlds(world_seeds, targets, min_evidence=s.min_evidence,
                             min_candidate=s.queue.min_candidate_evidence)  # fmt: skip
        run_seeds: Sequence[int] = list(world_seeds)
    else:
        assert frame is not None
        if mode == "truth":
            assert truth is not None
            merged = frame[["country", "day"]].merge(truth, on=["country", "day"], how="left")
            oracle = merged["is_censorship"].fillna(False).astype(int).to_numpy()
            worlds = [_world(frame, oracle, targets, "database")]
        else:
            view, oracle, mask = withheld_view(frame, targets, withhold_share)
            hidden = int(mask.sum())
            worlds = [_world(view, oracle, targets, "database")]
        run_seeds = list(range(seeds))
    config = simulation_config(ws, strategies=strategies, rounds=rounds, batch_size=batch_size,
                               seeds=run_seeds, jobs=jobs)  # fmt: skip
    result = simulate(worlds, targets, config, progress=progress)
    csv_path = png_path = None
    if out_dir is not None:
        from labelbench.reports.simulation import learning_curve_png

        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / "simulation.csv"
        result.trajectory.to_csv(csv_path, index=False)
        png_path = out_dir / "learning_curves.png"
        pools = result.pools.groupby("run")[["pool", "hidden"]].sum()
        expected = float((pools["hidden"] / pools["pool"]).mean() * 100) if len(pools) else None
        png_path.write_bytes(
            learning_curve_png(result.trajectory, mode=mode, random_per_100=expected)
        )
    return SimulationRun(mode, result, csv_path, png_path, hidden)
