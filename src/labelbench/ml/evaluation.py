"""The evaluation protocol, by seam (this module only re-exports, for existing callers).

- :mod:`labelbench.ml.metrics`: counting metrics and (block) bootstrap intervals;
- :mod:`labelbench.ml.thresholds`: F1-optimal and shrunk thresholds, serving thresholds;
- :mod:`labelbench.ml.cv`: the fold engine (pair models shared by every outer fold);
- :mod:`labelbench.ml.loco`: leave-one-country-out + stratified evaluation;
- :mod:`labelbench.ml.within_country`: blocked within-country evaluation;
- :mod:`labelbench.ml.comparison`: production vs candidate, per country and pooled.
"""

from __future__ import annotations

from labelbench.ml.comparison import (
    STATUSES,
    Comparison,
    CountryDelta,
    PooledDelta,
    classify_delta,
    compare,
    pooled_delta,
)
from labelbench.ml.loco import CountryMetrics, LocoResult, loco_evaluate
from labelbench.ml.metrics import binary_scores, bootstrap_f1_ci, paired_bootstrap_delta_ci
from labelbench.ml.thresholds import ServingThresholds, f1_optimal_threshold, shrunk_threshold

__all__ = [
    "STATUSES",
    "Comparison",
    "CountryDelta",
    "CountryMetrics",
    "LocoResult",
    "PooledDelta",
    "ServingThresholds",
    "binary_scores",
    "bootstrap_f1_ci",
    "classify_delta",
    "compare",
    "f1_optimal_threshold",
    "loco_evaluate",
    "paired_bootstrap_delta_ci",
    "pooled_delta",
    "shrunk_threshold",
]
