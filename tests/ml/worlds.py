"""Constructed worlds for the within-country and attribution tests (small, fast, deterministic).

``signature_world``: most countries show censorship as a high anomaly rate; country ``OM`` shows
it only in ``probe_block_rate`` and looks quiet in ``anomaly_rate``, so only OM's own labels can
teach the model its censorship days. Incidents mark some of OM's episodes; the other OM episode
days are the hidden positives (label 0 until an analyst labels them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelbench.domain.constants import FEATURES

WORLD_COUNTRIES = ("OM", "KW", "AE", "IR", "RU", "DE")
TARGET = "OM"


@dataclass
class World:
    """Samples (features, ``country``, ``day``), incident labels and the truth."""

    X: pd.DataFrame
    incident: pd.Series
    truth: pd.Series

    @property
    def hidden_positives(self) -> pd.Index:
        """OM days that are censorship but carry no incident label."""
        om = self.X["country"] == TARGET
        return self.X.index[om & (self.truth == 1) & (self.incident == 0)]

    @property
    def pool(self) -> pd.Index:
        """The labelling pool: OM days without an incident label."""
        return self.X.index[(self.X["country"] == TARGET) & (self.incident == 0)]


def signature_world(seed: int = 0, days: int = 120) -> World:
    rng = np.random.default_rng(seed)
    frames = []
    start = np.datetime64("2026-01-01")
    for c in WORLD_COUNTRIES:
        truth = np.zeros(days, dtype=bool)
        incident = np.zeros(days, dtype=bool)
        # OM: 8 episodes of 3 days, 3 of them cited by an incident; others: 5 episodes, 4 cited.
        n_ep = 8 if c == TARGET else 5
        starts = np.sort(rng.choice(np.arange(2, days - 4, 8), size=n_ep, replace=False))
        for k, s in enumerate(starts):
            truth[s : s + 3] = True
            incident[s : s + 3] = (k % 3 == 0) if c == TARGET else (k != 2)
        X = rng.normal(size=(days, len(FEATURES)))
        if c == TARGET:
            X[:, 7] += 3.0 * truth  # probe_block_rate: OM's own signature
        else:
            X[:, 0] += 3.0 * truth  # anomaly_rate: everybody else's
        f = pd.DataFrame(X, columns=list(FEATURES))
        f.insert(0, "country", c)
        f["day"] = start + np.arange(days)
        f["truth"] = truth.astype(float)
        f["incident"] = incident.astype(float)
        frames.append(f)
    all_ = pd.concat(frames, ignore_index=True)
    all_.index = pd.RangeIndex(1000, 1000 + len(all_))
    X = all_.drop(columns=["truth", "incident"])
    return World(X, all_["incident"], all_["truth"])
