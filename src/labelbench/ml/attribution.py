"""How much did a set of labels move the model? Paired intervals for LOCO summary deltas.

A leave-one-batch-out retrain gives two LOCO results on the same held-out labels: with and
without the batch. The per-country deltas come from :func:`labelbench.ml.evaluation.compare`;
this module adds the interval of the *median* F1 delta, by resampling the evaluated countries
(the unit LOCO generalises over) and recomputing both medians on each resample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelbench.ml.evaluation import LocoResult


@dataclass(frozen=True)
class MedianDelta:
    """``with - without`` LOCO median F1, with a country-bootstrap 95% interval."""

    delta: float
    ci_low: float
    ci_high: float
    countries: int


def median_f1_delta(
    with_: LocoResult, without: LocoResult, *, n_boot: int = 1000, seed: int = 0
) -> MedianDelta:
    """Paired country bootstrap of the LOCO median F1 difference over shared countries."""
    shared = sorted(set(with_.countries) & set(without.countries))
    if not shared:
        nan = float("nan")
        return MedianDelta(nan, nan, nan, 0)
    a = np.array([with_.countries[c].f1 for c in shared], dtype=float)
    b = np.array([without.countries[c].f1 for c in shared], dtype=float)
    delta = float(np.nanmedian(a) - np.nanmedian(b))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(shared), size=(n_boot, len(shared)))
    boots = np.nanmedian(a[idx], axis=1) - np.nanmedian(b[idx], axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return MedianDelta(delta, float(low), float(high), len(shared))
