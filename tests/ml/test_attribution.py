"""Attribution sees a batch where it was made, and does not see one that is not there.

Both tests use the constructed signature world (``worlds.py``): OM's censorship days look unlike
any other country's, so only OM's own labels can teach the model to find them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from worlds import TARGET, World, signature_world

from labelbench.ml.attribution import HELPED, NO_CHANGE, null_noise, own_country_effects, verdict
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.within_country import WithinPlan, within_country_evaluate

SPEC = PipelineSpec(engine="fast", base_params={"max_iter": 10})
PLAN = WithinPlan(countries=[TARGET])


def _effect(w: World, batch: pd.Index) -> tuple[str, str, float, float]:
    """Label ``batch`` with oracle verdicts; the OM verdict at 0.5 and at the serving threshold."""
    y = w.incident.copy()
    y.loc[batch] = w.truth.loc[batch]
    without = within_country_evaluate(SPEC, w.X, w.incident, y, PLAN, n_boot=1000)
    with_ = within_country_evaluate(SPEC, w.X, y, y, PLAN, n_boot=1000)
    noise = null_noise(SPEC, w.X, y, TARGET, len(batch), plan=PLAN, reference=with_, draws=5)
    e = own_country_effects(with_, without, y, w.incident, [TARGET], n_boot=1000, noise=noise)[
        TARGET
    ]
    return e.verdict, e.verdict_serving, e.ci_low, e.ci_low_serving


def test_labelling_hidden_positives_is_reported_helped() -> None:
    w = signature_world(0)
    assert len(w.hidden_positives) == 15
    at_half, at_serving, lo, lo_serving = _effect(w, w.hidden_positives)
    assert at_half == HELPED and lo > 0
    assert at_serving == HELPED and lo_serving > 0


def test_random_batches_from_the_pool_are_no_detectable_change() -> None:
    """20 seeds: a same-size batch drawn at random from OM's pool (oracle verdicts)."""
    rng = np.random.default_rng(12)
    outcomes = []
    for seed in range(20):
        w = signature_world(seed)
        batch = pd.Index(rng.choice(w.pool, size=len(w.hidden_positives), replace=False))
        at_half, at_serving, _, _ = _effect(w, batch)
        outcomes.append(at_half == NO_CHANGE and at_serving == NO_CHANGE)
    assert sum(outcomes) >= 19, outcomes


def test_verdict_is_symmetric_and_respects_noise() -> None:
    assert verdict(0.1, 0.02, 0.2) == HELPED
    assert verdict(-0.1, -0.2, -0.02) == "hurt"
    assert verdict(0.1, -0.01, 0.2) == NO_CHANGE
    assert verdict(0.03, 0.01, 0.05, noise=0.05) == NO_CHANGE
    assert verdict(float("nan"), 0.0, 0.0) == NO_CHANGE
