"""Batch selection: turn per-candidate scores into one analyst batch.

Scoring (:mod:`labelbench.ml.strategies`) says how useful each candidate is; this module decides
which ones an analyst actually sees, so that every target country gets its share of each batch,
one censorship episode does not fill a batch with its adjacent days, near-identical days are not
labelled twice, and countries that stopped paying off hand their share to those that still do.

Everything is deterministic given the inputs and the ``rng`` state: the generator is only used for
a tie-breaking permutation and for the exploration keys, both drawn once up front.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.errors import InputError
from labelbench.ml.strategies import (
    STRATEGIES,
    FloatArray,
    require_columns,
    standardise,
)

#: Days within this many days of a chosen day of the same country count as the same episode.
DEFAULT_COLLAPSE_GAP_DAYS: Final[int] = 1
#: A near-duplicate loses this fraction of its country's score range (0.5: it must beat the best
#: distinct candidate by half the range to still be picked).
DEFAULT_DUPLICATE_PENALTY: Final[float] = 0.5
#: RMS distance, in standard deviations per feature, below which two days are near-duplicates.
DEFAULT_DUPLICATE_TOLERANCE: Final[float] = 0.25
#: Stopping: number of most recent labels whose positive yield is judged.
DEFAULT_STOP_WINDOW: Final[int] = 20
#: Stopping: a country whose recent yield is below this is exhausted.
DEFAULT_MIN_YIELD: Final[float] = 0.05
#: Stopping: mean |p_curr - p_prev| below this means labels no longer move the model.
DEFAULT_STABILITY_TOL: Final[float] = 0.01
#: Stopping: stability is only judged once a country has this many labels (an unlabelled
#: country's predictions are trivially stable).
DEFAULT_STABILITY_MIN_LABELS: Final[int] = 5

BATCH_COLUMNS: Final[tuple[str, ...]] = (
    "sample_id",
    "country",
    "day",
    "strategy",
    "scorer",
    "score",
    "rank",
    "country_quota",
    "reason",
)
STOPPING_COLUMNS: Final[tuple[str, ...]] = (
    "country",
    "n_labels",
    "recent_yield",
    "mean_abs_delta",
    "exhausted",
    "reason",
)


# ---------------------------------------------------------------------------------------- quotas


def _round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def allocate_quotas(
    capacity: Mapping[str, int],
    size: int,
    *,
    weights: Mapping[str, float] | None = None,
    exclude: Collection[str] = (),
) -> dict[str, int]:
    """Split ``size`` slots across countries in proportion to ``weights`` (default: equal).

    A country never gets more slots than its ``capacity`` (candidates); what it cannot take is
    re-split among the others. Leftover single slots go by largest fractional share, then to the
    country with more candidates, then alphabetically. Countries in ``exclude`` (exhausted), with
    zero weight or without candidates get 0; countries absent from ``weights`` have weight 0.
    """
    if size < 0:
        raise InputError(f"batch size must be >= 0, got {size}")
    w = (
        dict.fromkeys(capacity, 1.0)
        if weights is None
        else {c: float(weights.get(c, 0.0)) for c in capacity}
    )
    if any(v < 0 or not math.isfinite(v) for v in w.values()):
        raise InputError("quota weights must be finite and >= 0")
    quota = dict.fromkeys(capacity, 0)
    active = [c for c in sorted(capacity) if capacity[c] > 0 and w[c] > 0 and c not in exclude]
    remaining = min(size, sum(capacity[c] for c in active))
    while remaining > 0:
        open_ = [c for c in active if quota[c] < capacity[c]]
        total_w = sum(w[c] for c in open_)
        ideal = {c: remaining * w[c] / total_w for c in open_}
        base = {c: min(math.floor(ideal[c]), capacity[c] - quota[c]) for c in open_}
        given = sum(base.values())
        if given == 0:
            order = sorted(
                open_,
                key=lambda c: (
                    -(ideal[c] - math.floor(ideal[c])),
                    -(capacity[c] - quota[c]),
                    c,
                ),
            )
            for c in order[:remaining]:
                quota[c] += 1
            remaining -= min(remaining, len(order))
        else:
            for c, k in base.items():
                quota[c] += k
            remaining -= given
    return quota


def _exploration_slots(quota: Mapping[str, int], share: float) -> dict[str, int]:
    """Largest-remainder split of ``round(share * batch)`` exploration slots over the quotas.

    Apportioning batch-wide keeps the exploration share exact even when every quota is small
    (0.2 x a quota of 2 would round to 0 in every country).
    """
    total = _round_half_up(share * sum(quota.values()))
    ideal = {c: share * q for c, q in quota.items()}
    slots = {c: min(math.floor(v), quota[c]) for c, v in ideal.items()}
    order = sorted(quota, key=lambda c: (-(ideal[c] - math.floor(ideal[c])), -quota[c], c))
    left = total - sum(slots.values())
    for c in order:
        if left <= 0:
            break
        if slots[c] < quota[c]:
            slots[c] += 1
            left -= 1
    return slots


# -------------------------------------------------------------------------------------- stopping


def stopping_signal(
    history: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    *,
    window: int = DEFAULT_STOP_WINDOW,
    min_yield: float = DEFAULT_MIN_YIELD,
    stability_tol: float = DEFAULT_STABILITY_TOL,
    stability_min_labels: int = DEFAULT_STABILITY_MIN_LABELS,
) -> pd.DataFrame:
    """Per country: is labelling still paying off? One row per country seen in either input.

    ``history`` has ``country, verdict, labelled_at``; every verdict counts as a label (each costs
    analyst time) and the yield is the positive share of the last ``window`` of them, judged only
    once a country has ``window`` labels. ``predictions`` has ``country, proba_prev, proba_curr``
    (last two models on the same samples); a country is stable when the mean |delta p| is below
    ``stability_tol``. A country is exhausted when its yield is below ``min_yield`` or it is
    stable. Columns: ``country, n_labels, recent_yield, mean_abs_delta, exhausted, reason``.
    """
    if window < 1:
        raise InputError(f"stopping window must be >= 1, got {window}")
    n_labels: dict[str, int] = {}
    yields: dict[str, float] = {}
    if history is not None and len(history):
        require_columns(history, ["country", "verdict", "labelled_at"])
        ordered = history.assign(_order=np.arange(len(history))).sort_values(
            ["labelled_at", "_order"], kind="stable"
        )
        for country, group in ordered.groupby(ordered["country"].astype(str), sort=True):
            n_labels[str(country)] = len(group)
            if len(group) >= window:
                recent = group["verdict"].astype(str).str.lower().tail(window)
                yields[str(country)] = float((recent == "positive").mean())
    deltas: dict[str, float] = {}
    if predictions is not None and len(predictions):
        require_columns(predictions, ["country", "proba_prev", "proba_curr"])
        prev = pd.to_numeric(predictions["proba_prev"], errors="coerce")
        curr = pd.to_numeric(predictions["proba_curr"], errors="coerce")
        delta = (curr - prev).abs()
        by_country = delta.groupby(predictions["country"].astype(str)).mean()
        deltas = {str(c): float(v) for c, v in by_country.items() if pd.notna(v)}
    rows = []
    for country in sorted(set(n_labels) | set(deltas)):
        n = n_labels.get(country, 0)
        y = yields.get(country, math.nan)
        d = deltas.get(country, math.nan)
        reasons = []
        if not math.isnan(y) and y < min_yield:
            reasons.append(f"yield {y:.0%} over last {window} labels < {min_yield:.0%}")
        judged_stability = history is None or n >= stability_min_labels
        if not math.isnan(d) and judged_stability and d < stability_tol:
            reasons.append(f"predictions stable (mean |dp| {d:.3f} < {stability_tol})")
        if reasons:
            reason = "exhausted: " + "; ".join(reasons)
        elif math.isnan(y):
            reason = f"active: {n} label(s), yield judged after {window}"
        else:
            reason = f"active: yield {y:.0%} over last {window} labels"
        rows.append((country, n, y, d, bool(reasons), reason))
    out = pd.DataFrame(rows, columns=list(STOPPING_COLUMNS))
    return out.astype({"n_labels": "int64", "recent_yield": "float64", "mean_abs_delta": "float64"})


def _exhausted(stopping: pd.DataFrame | None) -> dict[str, str]:
    if stopping is None or len(stopping) == 0:
        return {}
    require_columns(stopping, ["country", "exhausted"])
    reasons = stopping["reason"] if "reason" in stopping.columns else stopping["country"]
    mask = stopping["exhausted"].astype(bool)
    return {str(c): str(r) for c, r in zip(stopping["country"][mask], reasons[mask], strict=True)}


# ------------------------------------------------------------------------------------- selection


@dataclass
class _CountryPicker:
    """Greedy picks within one country, sharing episode/duplicate state across pick phases."""

    days: npt.NDArray[np.int64]
    z: FloatArray
    tiebreak: FloatArray
    gap: int
    tolerance: float
    penalty: float
    available: npt.NDArray[np.bool_] = field(init=False)
    blocked: npt.NDArray[np.bool_] = field(init=False)
    min_dist: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.days)
        self.available = np.ones(n, dtype=bool)
        self.blocked = np.zeros(n, dtype=bool)
        self.min_dist = np.full(n, np.inf)

    def pick(self, keys: FloatArray, k: int) -> list[tuple[int, list[str]]]:
        """Up to ``k`` local indices by ``keys``; skips adjacent days, penalises duplicates."""
        span = float(keys.max() - keys.min()) if len(keys) else 0.0
        span = span if span > 0 else 1.0
        picks: list[tuple[int, list[str]]] = []
        for _ in range(k):
            if not self.available.any():
                break
            notes: list[str] = []
            eligible = self.available & ~self.blocked
            if not eligible.any():
                eligible = self.available
                notes.append("adjacent to a chosen day (nothing else left)")
            duplicate = self.min_dist < self.tolerance
            effective = np.where(eligible, keys - self.penalty * span * duplicate, -np.inf)
            ties = np.flatnonzero(effective == effective.max())
            best = int(ties[np.argmax(self.tiebreak[ties])])
            if duplicate[best]:
                notes.append("near-duplicate of a chosen day (nothing better)")
            picks.append((best, notes))
            self.available[best] = False
            self.blocked |= np.abs(self.days - self.days[best]) <= self.gap
            if self.z.shape[1]:
                dist = np.sqrt(((self.z - self.z[best]) ** 2).mean(axis=1))
                self.min_dist = np.minimum(self.min_dist, dist)
        return picks


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _num(row: pd.Series, column: str) -> float:
    if column not in row.index:
        return math.nan
    value = pd.to_numeric(row[column], errors="coerce")
    return float(value) if pd.notna(value) else math.nan


def _why(row: pd.Series, scorer: str) -> str:
    """Short human-readable reason for one pick, from the scorer and the row's own numbers."""
    p = _num(row, "proba")
    t = _num(row, "threshold")
    t = 0.5 if math.isnan(t) else t
    if scorer in ("hybrid", "uncertainty"):
        where = "near" if abs(p - t) <= 0.1 else ("above" if p > t else "below")
        return f"{scorer}: p={p:.2f} {where} threshold {t:.2f}"
    if scorer in ("margin", "entropy"):
        return f"{scorer}: p={p:.2f}"
    if scorer == "likely_positive":
        return f"likely positive: p={p:.2f}"
    if scorer == "committee":
        parts = [
            f"{name} {_num(row, col):.2f}"
            for name, col in (
                ("base", "proba_base"),
                ("cluster", "proba_cluster"),
                ("stack", "proba_stack"),
            )
            if not math.isnan(_num(row, col))
        ]
        return "committee: parts disagree (" + ", ".join(parts) + ")"
    if scorer == "label_errors":
        return (
            f"label check: incident label {_num(row, 'incident_label'):.0f} "
            f"vs out-of-fold p={_num(row, 'oof_proba'):.2f}"
        )
    if scorer == "seed":
        return (
            f"seed (cold start): anomaly_rate={_num(row, 'anomaly_rate'):.2f}, "
            f"spike={_num(row, 'spike_magnitude'):.1f}"
        )
    if scorer == "random":
        return "random control"
    return scorer


def select_batch(
    candidates: pd.DataFrame,
    scores: Sequence[float] | FloatArray | pd.Series,
    *,
    size: int,
    strategy_name: str,
    quotas: Mapping[str, float] | None = None,
    exploration_share: float | None = None,
    collapse_gap_days: int = DEFAULT_COLLAPSE_GAP_DAYS,
    duplicate_penalty: float = DEFAULT_DUPLICATE_PENALTY,
    duplicate_tolerance: float = DEFAULT_DUPLICATE_TOLERANCE,
    stopping: pd.DataFrame | None = None,
    rng: np.random.Generator,
    scorers: Sequence[str] | npt.NDArray[np.object_] | None = None,
    exploration_scores: Sequence[float] | FloatArray | None = None,
) -> pd.DataFrame:
    """Choose up to ``size`` candidates; returns :data:`BATCH_COLUMNS`, one row per pick.

    - Quotas: :func:`allocate_quotas` over the countries with candidates, ``quotas`` being
      relative weights (not counts); countries ``stopping`` marks exhausted get none and their
      share moves to the others (noted in the reason and in ``attrs["exhausted"]``).
    - Exploration: ``exploration_share`` (default: the strategy's, 0.2 for hybrid, 0 otherwise)
      of the batch, apportioned over the country quotas by largest remainder, is filled after the
      country's score picks by the highest ``exploration_scores`` (e.g. seed scores) or, by
      default, uniformly at random among the rest; those rows get ``scorer == "explore"``.
    - Diversity: within a country, days within ``collapse_gap_days`` of a chosen day are skipped
      unless nothing else is left; candidates whose RMS standardised-feature distance to a chosen
      day is below ``duplicate_tolerance`` lose ``duplicate_penalty`` x the country's score range.
    - Exhaustive review: a country whose pool is no larger than its quota gets every day,
      ordered by ``proba`` (score where there is none), scorer ``exhaustive``.
    - Order: ``rank`` interleaves countries (every country's 1st pick, then 2nd...), so an analyst
      who stops early has still covered every country.

    ``scorers`` (per row, e.g. :attr:`Scores.scorer`) names what produced each score; it defaults
    to ``strategy_name``. The same inputs and seed give the same batch.
    """
    require_columns(candidates, ["sample_id", "country", "day"])
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(candidates),):
        raise InputError(f"got {values.size} scores for {len(candidates)} candidates")
    if not np.isfinite(values).all():
        raise InputError("scores must be finite")
    share = (
        STRATEGIES[strategy_name].exploration_share
        if exploration_share is None and strategy_name in STRATEGIES
        else (exploration_share or 0.0)
    )
    if not 0.0 <= share <= 1.0:
        raise InputError(f"exploration share must be in [0, 1], got {share}")
    if collapse_gap_days < 0 or duplicate_penalty < 0 or duplicate_tolerance < 0:
        raise InputError(
            "collapse_gap_days, duplicate_penalty and duplicate_tolerance must be >= 0"
        )

    df = candidates.reset_index(drop=True)
    n = len(df)
    tiebreak = rng.permutation(n).astype(np.float64)
    random_keys = rng.random(n)
    if exploration_scores is not None:
        explore_keys = np.asarray(exploration_scores, dtype=np.float64)
        if explore_keys.shape != (n,) or not np.isfinite(explore_keys).all():
            raise InputError("exploration_scores must be finite, one per candidate")
    else:
        explore_keys = random_keys
    row_scorer = (
        np.full(n, strategy_name, dtype=object)
        if scorers is None
        else np.asarray(scorers, dtype=object)
    )
    if row_scorer.shape != (n,):
        raise InputError(f"got {row_scorer.size} scorer names for {n} candidates")

    countries = df["country"].astype(str).to_numpy()
    capacity = {
        str(c): int(k) for c, k in zip(*np.unique(countries, return_counts=True), strict=True)
    }
    exhausted = _exhausted(stopping)
    quota = allocate_quotas(capacity, size, weights=quotas, exclude=exhausted.keys())
    baseline = allocate_quotas(capacity, size, weights=quotas)
    donors = sorted(c for c in exhausted if baseline.get(c, 0) > 0)
    # A pool no larger than its quota is shown whole: no ranking can save the analyst a label.
    whole = {c for c, q in quota.items() if q > 0 and q >= capacity[c]}
    explore = _exploration_slots({c: q for c, q in quota.items() if c not in whole}, share)
    days = pd.to_datetime(df["day"]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    z = standardise(df)
    proba = (
        pd.to_numeric(df["proba"], errors="coerce").to_numpy(dtype=np.float64)
        if "proba" in df.columns
        else np.full(n, np.nan)
    )

    # (row, position within its country, scorer label, notes), exploitation before exploration
    picked: list[tuple[int, int, str, list[str]]] = []
    for country in sorted(c for c, q in quota.items() if q > 0):
        rows = np.flatnonzero(countries == country)
        if country in whole:
            key = np.where(np.isnan(proba[rows]), values[rows] - 2.0, proba[rows])
            ordered = rows[np.lexsort((-tiebreak[rows], -key))]
            picked += [(int(r), pos, "exhaustive", []) for pos, r in enumerate(ordered, 1)]
            continue
        picker = _CountryPicker(
            days=days[rows],
            z=z[rows],
            tiebreak=tiebreak[rows],
            gap=collapse_gap_days,
            tolerance=duplicate_tolerance,
            penalty=duplicate_penalty,
        )
        exploit = picker.pick(values[rows], quota[country] - explore[country])
        explored = picker.pick(explore_keys[rows], explore[country])
        phases = [(local, notes, False) for local, notes in exploit]
        phases += [(local, notes, True) for local, notes in explored]
        for pos, (local, notes, is_explore) in enumerate(phases, start=1):
            row = int(rows[local])
            picked.append((row, pos, "explore" if is_explore else str(row_scorer[row]), notes))

    records: list[dict[str, object]] = []
    for row, pos, label, notes in picked:
        country = countries[row]
        r = df.iloc[row]
        if label == "exhaustive":
            why = f"exhaustive review: {capacity[country]} days left, by probability"
        elif label == "explore":
            why = (
                f"{strategy_name} explore: evidence score {explore_keys[row]:.2f}"
                if exploration_scores is not None
                else f"{strategy_name} explore: random pick ({share:.0%} exploration share)"
            )
        else:
            why = _why(r, label)
            if label != strategy_name:
                why = f"{strategy_name} -> {why}"
        if "rereview" in r.index and pd.notna(r["rereview"]) and bool(r["rereview"]):
            why = "re-review (evidence changed); " + why
        why += f"; {_ordinal(pos)} of {quota[country]} for {country}"
        gained = quota[country] - baseline.get(country, 0)
        if donors and gained > 0:
            why += f" (+{gained} from exhausted {', '.join(donors)})"
        for note in notes:
            why += f"; {note}"
        records.append(
            {
                "sample_id": r["sample_id"],
                "country": country,
                "day": r["day"],
                "strategy": strategy_name,
                "scorer": label,
                "score": float(values[row]),
                "rank": pos,
                "country_quota": quota[country],
                "reason": why,
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(BATCH_COLUMNS))
    # Interleave countries: position within country first, then higher score, then country code.
    out = out.sort_values(
        ["rank", "score", "country"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    out["country_quota"] = out["country_quota"].astype(np.int64)
    out.attrs["exhausted"] = dict(exhausted)
    return out
