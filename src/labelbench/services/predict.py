"""Serving predictions of the production model to the queue and the labelling app."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labelbench.domain.constants import FEATURES
from labelbench.ml.evaluation import ServingThresholds
from labelbench.services.workspace import Workspace

PROBA_COLUMNS = ("proba", "proba_base", "proba_cluster", "proba_stack", "threshold", "oof_proba")


@dataclass
class Predictor:
    """A loaded, verified production bundle with its per-country serving thresholds."""

    run_id: str
    model: Any
    thresholds: ServingThresholds
    oof: pd.Series | None = None
    """Out-of-fold probability per sample id from the run's evaluation (label-error hunting)."""

    @classmethod
    def for_production(cls, ws: Workspace) -> Predictor | None:
        """The production model, or None when no model has been promoted yet."""
        from labelbench.services.registry import load_alias

        loaded = load_alias(ws, "production")
        if loaded is None:
            return None
        return cls(loaded.run_id, loaded.model, loaded.thresholds, loaded.oof)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Probabilities (final and per part) and the country's threshold for every row.

        For a day the model was trained on, ``proba`` is its out-of-fold (leave-one-country-out)
        probability when the run recorded one: the in-sample probability mostly echoes the
        day's own incident label, so it cannot point at a censorship day the incidents missed.
        The parts (base, cluster head, stack) stay the served model's own outputs.
        """
        if frame.empty:
            return pd.DataFrame(columns=list(PROBA_COLUMNS), index=frame.index)
        X = frame[[*FEATURES, "country"]]
        parts = self.model.predict_parts(X)
        proba = self.model.predict_proba(X)[:, 1]
        out = pd.DataFrame(
            {
                "proba": proba,
                "proba_base": parts["proba_base"].to_numpy(),
                "proba_cluster": parts["proba_cluster"].to_numpy(),
                "proba_stack": parts["proba_stack"].to_numpy(),
                "threshold": [self.thresholds.for_country(str(c)) for c in frame["country"]],
            },
            index=frame.index,
        )
        if self.oof is not None and "sample_id" in frame.columns:
            out["oof_proba"] = frame["sample_id"].map(self.oof).astype(float).to_numpy()
            known = out["oof_proba"].notna()
            out.loc[known, "proba"] = out.loc[known, "oof_proba"]
        else:
            out["oof_proba"] = np.nan
        return out

    def predict_display(self, rows: pd.DataFrame) -> list[tuple[dict[str, float | None], float]]:
        """Each row's probabilities for display, with its country's threshold.

        On one thread: for a few rows, OpenMP's thread start-up and hand-over per tree cost
        far more than the work (measured 5 ms a tree on a busy 2-core machine, 0.5 s an item).
        A call's cost hardly grows with its rows, so the app predicts upcoming items together.
        """
        with _single_thread():
            out = self.predict_frame(rows)

        def num(v: Any) -> float | None:
            return None if pd.isna(v) else float(v)

        return [
            (
                {
                    "base": num(r.proba_base),
                    "cluster": num(r.proba_cluster),
                    "stack": num(r.proba_stack),
                    "final": num(r.proba),
                },
                float(r.threshold),
            )
            for r in out.itertuples()
        ]


@functools.cache
def _controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _single_thread() -> Any:
    """A context limiting native thread pools (OpenMP, BLAS) to one thread."""
    return _controller().limit(limits=1)


def attach_predictions(
    ws: Workspace, pool: pd.DataFrame, predictor: Predictor | None = None
) -> tuple[pd.DataFrame, str | None]:
    """Add the production model's columns to a candidate pool (NaN when there is no model)."""
    predictor = predictor if predictor is not None else Predictor.for_production(ws)
    pool = pool.copy()
    if predictor is None:
        for col in PROBA_COLUMNS:
            pool[col] = 0.5 if col == "threshold" else np.nan
        return pool, None
    preds = predictor.predict_frame(pool)
    for col in PROBA_COLUMNS:
        pool[col] = preds[col].to_numpy()
    return pool, predictor.run_id
