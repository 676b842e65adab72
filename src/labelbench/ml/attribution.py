"""What one labelling batch did: candidate vs the retrain without it, where it can be seen.

Two views, because labels create value in two places:

- **own countries** (the countries the batch labelled): within-country F1 on the country's unseen
  days, the way production serves it, with a paired week-bootstrap interval over the same rows;
  plus the interval width before and after (the measurement value: more labelled positives to
  score on);
- **transfer** (every other country): the LOCO median F1, with a paired country bootstrap.

The verdict is symmetric: "helped" only when the interval excludes 0 from above *and* the delta
exceeds the noise, "hurt" likewise from below, "no detectable change" otherwise. The noise is the
spread of the same comparison under a null (:func:`null_noise`): the country's F1 with all
current labels vs without ``k`` of them drawn at random from the country's labelled days, where
``k`` is the batch's size in that country. A batch has to move F1 more than withholding as many
arbitrary labels does; the week-bootstrap interval alone is not enough (with a handful of
positives, a batch that adds one or two of them clears it too often).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from labelbench.ml.comparison import At, decisions
from labelbench.ml.estimators import PipelineSpec
from labelbench.ml.loco import LocoResult
from labelbench.ml.metrics import (
    binary_scores,
    estimable,
    num,
    paired_bootstrap_delta_ci,
    week_blocks,
)
from labelbench.ml.within_country import (
    WithinCountryResult,
    WithinMetrics,
    WithinPlan,
    within_country_evaluate,
    within_country_evaluate_many,
)

HELPED, NO_CHANGE, HURT = "helped", "no detectable change", "hurt"
VERDICTS: tuple[str, ...] = (HELPED, NO_CHANGE, HURT)


def verdict(delta: float, ci_low: float, ci_high: float, noise: float = 0.0) -> str:
    """helped / no detectable change / hurt: the interval must exclude 0 and beat the noise."""
    if not np.isfinite(delta) or not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return NO_CHANGE
    if ci_low > 0 and delta > noise:
        return HELPED
    if ci_high < 0 and delta < -noise:
        return HURT
    return NO_CHANGE


@dataclass(frozen=True)
class MedianDelta:
    """``with - without`` LOCO median F1, with a country-bootstrap 95% interval."""

    delta: float
    ci_low: float
    ci_high: float
    countries: int

    @property
    def verdict(self) -> str:
        """helped / no detectable change / hurt."""
        return verdict(self.delta, self.ci_low, self.ci_high)


def median_f1_delta(
    with_: LocoResult,
    without: LocoResult,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    exclude: Sequence[str] = (),
) -> MedianDelta:
    """Paired country bootstrap of the LOCO median F1 difference over shared countries.

    ``exclude`` leaves countries out (a batch's own countries, to measure transfer only).
    """
    shared = sorted((set(with_.countries) & set(without.countries)) - set(exclude))
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


@dataclass(frozen=True)
class OwnCountryEffect:
    """A batch's effect on one of its own countries, on that country's unseen days."""

    country: str
    evaluable: bool
    reason: str
    n: int
    positives: int
    delta: float
    ci_low: float
    ci_high: float
    verdict: str
    delta_serving: float
    ci_low_serving: float
    ci_high_serving: float
    verdict_serving: str
    width_before: float
    width_after: float
    positives_before: int
    noise: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``own_countries`` of ``retrain --json``)."""
        return {
            "evaluable": self.evaluable,
            "reason": self.reason or None,
            "n": self.n,
            "positives": self.positives,
            "delta": num(self.delta),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "verdict": self.verdict,
            "delta_serving": num(self.delta_serving),
            "ci_low_serving": num(self.ci_low_serving),
            "ci_high_serving": num(self.ci_high_serving),
            "verdict_serving": self.verdict_serving,
            "f1_ci_width_before": num(self.width_before),
            "f1_ci_width_after": num(self.width_after),
            "positives_before": self.positives_before,
            "noise": num(self.noise),
        }


def _width(m: WithinMetrics | None) -> float:
    if m is None or not m.evaluable or not estimable(*m.f1_ci):
        return float("nan")
    return m.f1_ci[1] - m.f1_ci[0]


def own_country_effects(
    with_: WithinCountryResult,
    without: WithinCountryResult,
    y: pd.Series,
    y_without: pd.Series,
    countries: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    noise: float | dict[str, float] = 0.0,
) -> dict[str, OwnCountryEffect]:
    """Within-country F1 with vs without the batch, both scored on the current labels ``y``.

    The interval widths compare what could be measured before (the model without the batch,
    scored on the labels without it, ``y_without``) and after (with it, on ``y``).
    """
    after = with_.countries if with_.countries else with_.score(y)
    before = without.score(y_without)
    fa, fb = without.frame(y), with_.frame(y)
    out: dict[str, OwnCountryEffect] = {}
    for c in countries:
        m = after.get(c)
        b_m = before.get(c)
        a = fa[fa["country"] == c]
        b = fb[fb["country"] == c]
        shared = b.index.intersection(a.index)
        common = (_width(b_m), _width(m), 0 if b_m is None else b_m.positives)
        if m is None or not m.evaluable or len(shared) == 0:
            reason = "not in the within-country evaluation" if m is None else m.reason
            nan = float("nan")
            out[c] = OwnCountryEffect(c, False, reason or "no shared rows", 0 if m is None else m.n,
                                      0 if m is None else m.positives, nan, nan, nan, NO_CHANGE,
                                      nan, nan, nan, NO_CHANGE, *common)  # fmt: skip
            continue
        a, b = a.loc[shared], b.loc[shared]
        yc = b["y"].to_numpy()
        blocks = week_blocks(b["day"].to_numpy())
        res: list[float] = []
        for at in ("0.5", "serving"):
            rule: At = at
            pa, pb = decisions(a, rule), decisions(b, rule)
            d = binary_scores(yc, pb)[0] - binary_scores(yc, pa)[0]
            lo, hi = paired_bootstrap_delta_ci(
                yc, pa, pb, n_boot=n_boot, seed=seed, key=f"own{c}{at}", blocks=blocks
            )
            res += [d, lo, hi]
        d, lo, hi, ds, los, his = res
        floor = noise.get(c, 0.0) if isinstance(noise, dict) else noise
        out[c] = OwnCountryEffect(
            c, True, "", m.n, m.positives, d, lo, hi, verdict(d, lo, hi, floor),
            ds, los, his, verdict(ds, los, his, floor), *common, noise=floor,
        )  # fmt: skip
    return out


def null_noise(
    spec: PipelineSpec,
    X: pd.DataFrame,
    y: pd.Series,
    country: str,
    k: int,
    *,
    plan: WithinPlan | None = None,
    draws: int = 8,
    quantile: float = 0.9,
    seed: int = 0,
    n_jobs: int = 1,
    reference: WithinCountryResult | None = None,
    cache: dict[str, Any] | None = None,
    group_sizes: Mapping[str, int] | None = None,
) -> float:
    """How far ``country``'s within-country F1 moves when ``k`` random labels are withheld.

    Each draw removes ``k`` of the country's labelled days (at random) from training and scores
    both models on all current labels ``y``; the result is the ``quantile`` of ``|delta|`` over
    the draws, at 0.5 and at the serving thresholds (the larger). ``reference`` is the
    within-country result trained on ``y`` (computed when not given); ``cache`` shares fits
    with the caller's other evaluations and ``group_sizes`` must be the ones ``reference`` was
    computed with (see :func:`labelbench.ml.cv.run_folds`).
    """
    plan = plan or WithinPlan()
    one = replace(plan, countries=[country])
    if reference is None:
        reference = within_country_evaluate(
            spec, X, y, y, one, n_jobs=n_jobs, n_boot=0, group_sizes=group_sizes
        )
    ref = reference.frame(y)
    ref = ref[ref["country"] == country]
    labelled = y.index[(X["country"] == country).to_numpy() & y.notna().to_numpy()]
    if len(ref) == 0 or k <= 0 or len(labelled) <= k:
        return 0.0
    rng = np.random.default_rng([seed, k, len(labelled)])
    cache = {} if cache is None else cache
    y_nulls = []
    for _ in range(draws):
        drop = rng.choice(len(labelled), size=k, replace=False)
        y_null = y.copy()
        y_null.loc[labelled[drop]] = np.nan
        y_nulls.append(y_null)
    # All draws in one worker pool: a handful of fits each (same results as one call per draw).
    results = within_country_evaluate_many(
        spec, X, y_nulls, y, one, n_jobs=n_jobs, n_boot=0, cache=cache, group_sizes=group_sizes
    )
    deltas: list[float] = []
    yc = ref["y"].to_numpy()
    for res in results:
        alt = res.frame(y).reindex(ref.index)
        for rule in ("0.5", "serving"):
            at: At = rule  # type: ignore[assignment,unused-ignore]
            d = binary_scores(yc, decisions(ref, at))[0] - binary_scores(yc, decisions(alt, at))[0]
            deltas.append(abs(d))
    return float(np.quantile(deltas, quantile))
