"""Production vs candidate on the same held-out labels: per country and pooled over a group.

Deltas get paired intervals that resample calendar weeks of the shared rows (both models on the
same resampled weeks), so a change has to be larger than what a few days' labels could produce.
Decisions can be scored at 0.5 (the published protocol) or at the serving thresholds (each
row's out-of-fold per-country threshold: how the model is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from labelbench.errors import InputError
from labelbench.ml.loco import LocoResult
from labelbench.ml.metrics import binary_scores, num, paired_bootstrap_delta_ci, week_blocks

STATUSES: tuple[str, ...] = (
    "improved",
    "improved-within-noise",
    "flat",
    "regressed-within-noise",
    "regressed",
)
At = Literal["0.5", "serving"]


@dataclass
class CountryDelta:
    """Candidate minus production F1 of one country, with a paired bootstrap interval."""

    country: str
    n: int
    small_n: bool
    production_f1: float
    candidate_f1: float
    delta: float
    ci_low: float
    ci_high: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n": self.n,
            "small_n": self.small_n,
            "production_f1": num(self.production_f1),
            "candidate_f1": num(self.candidate_f1),
            "delta": num(self.delta),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "status": self.status,
        }


@dataclass
class Comparison:
    """Production vs candidate on the same held-out labels; ``production`` None = first model.

    ``deltas`` are at 0.5 (the published protocol), ``serving_deltas`` at the serving thresholds.
    """

    production: LocoResult | None
    candidate: LocoResult
    deltas: dict[str, CountryDelta]
    unmatched: list[str]
    flat_tol: float
    n_boot: int
    seed: int
    serving_deltas: dict[str, CountryDelta] | None = None

    @property
    def has_production(self) -> bool:
        """Whether there is a production model to compare with."""
        return self.production is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of both results and the per-country deltas."""
        return {
            "candidate": self.candidate.to_dict(),
            "production": None if self.production is None else self.production.to_dict(),
            "deltas": {c: d.to_dict() for c, d in self.deltas.items()},
            "unmatched": list(self.unmatched),
            "flat_tol": self.flat_tol,
            "n_boot": self.n_boot,
            "seed": self.seed,
        }


def classify_delta(delta: float, ci_low: float, ci_high: float, flat_tol: float) -> str:
    """improved / improved-within-noise / flat / regressed-within-noise / regressed.

    A move larger than ``flat_tol`` is "within noise" when the paired interval still contains 0.
    """
    if delta > flat_tol:
        return "improved" if ci_low > 0 else "improved-within-noise"
    if delta < -flat_tol:
        return "regressed" if ci_high < 0 else "regressed-within-noise"
    return "flat"


def decisions(frame: pd.DataFrame, at: At) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Positive calls of a predictions frame at 0.5 or at each row's serving threshold."""
    p = frame["proba"].to_numpy()
    if at == "serving" and "threshold_oof" in frame.columns:
        return np.asarray(p >= frame["threshold_oof"].to_numpy())
    return np.asarray(p >= 0.5)


def _blocks(frame: pd.DataFrame) -> Any:
    if "day" not in frame.columns:
        return None
    return week_blocks(frame["day"].to_numpy(), frame["country"].to_numpy())


def compare(
    production: LocoResult | None,
    candidate: LocoResult,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    flat_tol: float = 0.02,
    at: At = "0.5",
) -> Comparison:
    """Per-country delta F1 with paired week-bootstrap intervals over the shared rows.

    ``deltas`` are scored ``at`` the given decision rule; the serving-threshold deltas are always
    added as ``serving_deltas`` when ``at`` is 0.5.
    """
    deltas: dict[str, CountryDelta] = {}
    serving: dict[str, CountryDelta] = {}
    unmatched: list[str] = []
    if production is not None:
        cand, prod = candidate.predictions, production.predictions
        for c in candidate.countries:
            if c not in production.countries:
                unmatched.append(c)
                continue
            a = prod[prod["country"] == c]
            b = cand[cand["country"] == c]
            shared = b.index.intersection(a.index)
            a, b = a.loc[shared], b.loc[shared]
            if len(shared) == 0:
                unmatched.append(c)
                continue
            if not np.array_equal(a["y"].to_numpy(), b["y"].to_numpy()):
                raise InputError(
                    f"cannot compare {c}: the two results were scored on different labels"
                )
            small = candidate.countries[c].small_n
            for rule, out in ((at, deltas), ("serving", serving)):
                out[c] = _delta(c, a, b, rule, small, n_boot, seed, flat_tol)
        unmatched.extend(c for c in production.countries if c not in candidate.countries)
    return Comparison(
        production, candidate, deltas, sorted(unmatched), flat_tol, n_boot, seed, serving
    )


def _delta(
    c: str,
    a: pd.DataFrame,
    b: pd.DataFrame,
    at: At,
    small: bool,
    n_boot: int,
    seed: int,
    flat_tol: float,
) -> CountryDelta:
    y = b["y"].to_numpy()
    pa, pb = decisions(a, at), decisions(b, at)
    fa, fb = binary_scores(y, pa)[0], binary_scores(y, pb)[0]
    lo, hi = paired_bootstrap_delta_ci(
        y, pa, pb, n_boot=n_boot, seed=seed, key=c, blocks=_blocks(b)
    )
    return CountryDelta(
        c, len(y), small, fa, fb, fb - fa, lo, hi, classify_delta(fb - fa, lo, hi, flat_tol)
    )


@dataclass(frozen=True)
class PooledDelta:
    """F1 of a group of countries scored as one pool of rows, production vs candidate."""

    countries: list[str]
    n: int
    positives: int
    production_f1: float
    candidate_f1: float
    delta: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "countries": list(self.countries),
            "n": self.n,
            "positives": self.positives,
            "production_f1": num(self.production_f1),
            "candidate_f1": num(self.candidate_f1),
            "delta": num(self.delta),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
        }


def pooled_delta(
    production: pd.DataFrame,
    candidate: pd.DataFrame,
    group: Sequence[str],
    *,
    at: At = "0.5",
    n_boot: int = 1000,
    seed: int = 0,
    key: str = "pooled",
) -> PooledDelta | None:
    """Pooled F1 over ``group``'s shared rows, with a paired (country, week) block bootstrap.

    Pooling is how small-n countries are gated: none of them alone has the positives to show a
    change, the group has. Frames need ``country, y, proba`` (+ ``day``, ``threshold_oof``).
    """
    a = production[production["country"].isin(list(group))]
    b = candidate[candidate["country"].isin(list(group))]
    shared = b.index.intersection(a.index)
    if len(shared) == 0:
        return None
    a, b = a.loc[shared], b.loc[shared]
    y = b["y"].to_numpy()
    pa, pb = decisions(a, at), decisions(b, at)
    fa, fb = binary_scores(y, pa)[0], binary_scores(y, pb)[0]
    lo, hi = paired_bootstrap_delta_ci(
        y, pa, pb, n_boot=n_boot, seed=seed, key=key, blocks=_blocks(b)
    )
    present = sorted(set(b["country"]))
    return PooledDelta(present, len(y), int(y.sum()), fa, fb, fb - fa, lo, hi)
