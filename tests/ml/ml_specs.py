"""Pipeline specs shared by the ML tests (imported by name: pytest puts tests/ml on sys.path)."""

from __future__ import annotations

from labelbench.ml.estimators import PipelineSpec

#: A stacked pipeline small enough to fit in milliseconds (bundle and Dask round trips).
TINY_STACKED_SPEC = PipelineSpec(
    pipeline="stacked",
    engine="fast",
    base_params={"max_iter": 5},
    head_params={"max_iter": 3},
    n_anchors=20,
    inner_folds=2,
)
