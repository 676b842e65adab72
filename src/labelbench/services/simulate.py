"""`labelbench simulate`: replay labelling with an oracle to compare query strategies.

Two oracles:
- ``truth`` (the demo world): the hidden truth table answers, so strategies are judged on the
  censorship days that incidents missed;
- ``withheld`` (any database): a share of the target countries' known positive labels is hidden
  (set to negative, as a missed incident would be) and the original labels answer.
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
from labelbench.errors import InputError
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.simulation import SimulationConfig, SimulationResult, simulate
from labelbench.services.labels import training_frame
from labelbench.services.queue import target_countries
from labelbench.services.reference import effective_clusters
from labelbench.services.workspace import Workspace


@dataclass
class SimulationRun:
    mode: str
    result: SimulationResult
    csv_path: Path | None
    png_path: Path | None
    hidden_labels: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "targets": self.result.targets,
            "rounds": self.result.config.rounds,
            "batch_size": self.result.config.batch_size,
            "seeds": list(self.result.config.seeds),
            "hidden_labels": self.hidden_labels,
            "pool_size": self.result.pool_size,
            "pool_hidden_positives": self.result.pool_hidden,
            "strategies": self.result.summary(),
            "csv": str(self.csv_path) if self.csv_path else None,
            "chart": str(self.png_path) if self.png_path else None,
        }


def run_simulation(
    ws: Workspace,
    *,
    strategies: Sequence[str] = ("hybrid", "random"),
    rounds: int = 5,
    batch_size: int = 50,
    seeds: int = 5,
    countries: Sequence[str] | None = None,
    mode: str = "auto",
    withhold_share: float = 0.5,
    out_dir: Path | None = None,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationRun:
    """Load samples, labels and the oracle, replay, and write the CSV and chart."""
    if mode not in ("auto", "truth", "withheld"):
        raise InputError("mode must be auto, truth or withheld")
    if not 0 < withhold_share < 1:
        raise InputError("withhold share must be between 0 and 1")
    with ws.transaction(readonly=True) as session:
        # Default targets: the watch list (the countries the mission is about). The queue's
        # automatic rule (< K incident positives) selects most countries of a production-like
        # world, which would make every round a 100-country LOCO.
        targets = target_countries(session, ws.settings, countries or ws.settings.watch_list)
        frame = training_frame(session)
        has_truth = (session.scalar(select(func.count()).select_from(DemoTruth)) or 0) > 0
        truth = (
            pd.DataFrame(
                session.execute(
                    select(DemoTruth.country, DemoTruth.day, DemoTruth.is_censorship)
                ).all(),
                columns=["country", "day", "is_censorship"],
            )
            if has_truth
            else None
        )
    if mode == "truth" and truth is None:
        raise InputError("this database has no demo truth; use --mode withheld")
    mode = (
        "truth"
        if mode == "auto" and truth is not None
        else ("withheld" if mode == "auto" else mode)
    )
    samples = frame.rename(columns={"id": "sample_id"})
    y = samples["label"].to_numpy(dtype=float)
    in_target = samples["country"].isin(targets).to_numpy()
    hidden = 0
    if mode == "truth":
        assert truth is not None
        merged = samples[["country", "day"]].merge(truth, on=["country", "day"], how="left")
        oracle = merged["is_censorship"].fillna(False).astype(int).to_numpy()
        pool = in_target & samples["human_verdict"].isna().to_numpy()
    else:
        oracle = np.where(np.isnan(y), -1, y).astype(int)
        rng = np.random.default_rng(0)
        positives = np.flatnonzero(in_target & (y == 1))
        chosen = rng.choice(positives, size=round(len(positives) * withhold_share), replace=False)
        y = y.copy()
        y[chosen] = 0.0
        hidden = len(chosen)
        pool = in_target & (oracle >= 0) & (samples["label_source"] != "human").to_numpy()
        pool[chosen] = True
        oracle = np.where(oracle < 0, 0, oracle)
    t = ws.settings.training
    with ws.transaction(readonly=True) as session:
        clusters = effective_clusters(session, ws.settings)
    config = SimulationConfig(
        strategies=tuple(strategies),
        rounds=rounds,
        batch_size=batch_size,
        seeds=tuple(range(seeds)),
        spec=PipelineSpec(
            pipeline="base",
            engine="fast",
            base_params=dict(t.base_params),
            clusters=clusters,
            random_state=t.random_state,
        ),
        n_jobs=jobs if jobs is not None else t.jobs,
    )
    result = simulate(samples, y, oracle, targets, config, pool_mask=pool, progress=progress)
    csv_path = png_path = None
    if out_dir is not None:
        from labelbench.reports.simulation import learning_curve_png

        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / "simulation.csv"
        result.trajectory.to_csv(csv_path, index=False)
        png_path = out_dir / "learning_curves.png"
        png_path.write_bytes(learning_curve_png(result.trajectory, mode=mode))
    return SimulationRun(mode, result, csv_path, png_path, hidden)
