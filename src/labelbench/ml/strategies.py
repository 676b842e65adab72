"""Active-learning query strategies: small pure scoring functions over a candidate frame.

A strategy only *scores* candidates (higher = more worth an analyst's time); picking a batch
(quotas, diversity, exploration, stopping) is :mod:`labelbench.ml.selection`'s job, so strategies
stay easy to test and compare in simulation. Every built-in score lies in ``[0, 1]`` so that
selection's penalties and the re-review boost have a known scale.

Candidate frame columns: ``sample_id, country, day``, the 16 :data:`FEATURES`, ``incident_label``,
``proba`` (NaN without a model), ``proba_base``, ``proba_cluster``, ``proba_stack`` (NaN when a part
does not exist), ``threshold`` (NaN means 0.5), ``oof_proba`` (NaN when unknown), ``rereview``.

Cold start: a model that has never seen a positive in a regime cannot rank by uncertainty, so
model-based strategies are replaced by :func:`score_seed` (evidence heuristics) for candidates
without a probability and for countries with fewer than ``min_positives`` known positives; see
:func:`choose_scorers` and :func:`score_candidates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.domain.constants import DEFAULT_CLUSTERS, FEATURES, cluster_of
from labelbench.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: Share of each hybrid batch that selection fills by exploration instead of by score.
DEFAULT_EXPLORATION_SHARE: Final[float] = 0.2
#: Weight of the probability itself in the hybrid score; the rest goes to threshold uncertainty.
HYBRID_POSITIVE_WEIGHT: Final[float] = 0.6
#: Countries with fewer known positives than this are seeded instead of model-ranked.
DEFAULT_MIN_POSITIVES: Final[int] = 3
#: Added to re-review candidates' scores; > 1 puts them ahead of every fresh [0, 1] score.
DEFAULT_REREVIEW_BOOST: Final[float] = 1.0
#: Threshold assumed where a country has none.
DEFAULT_THRESHOLD: Final[float] = 0.5
#: Pseudo-count of measurements behind a probability (the sample rule's 5 rows): a day measured
#: n times keeps n / (n + 5) of its probability, see :func:`reliable_proba`.
RELIABILITY_MEASUREMENTS: Final[float] = 5.0

#: Evidence heuristics of :func:`score_seed` and their weights (sum 1). anomaly_rate has the
#: largest gain in v3.3; the neighbour signals carry contagion; probes are rare but direct.
SEED_EVIDENCE_WEIGHTS: Final[dict[str, float]] = {
    "anomaly_rate": 0.30,
    "spike_magnitude": 0.20,
    "probe_block_rate": 0.15,
    "rate_spike_interaction": 0.10,
    "neighbor_block_rate_7d": 0.10,
    "neighbor_max_anomaly_7d": 0.10,
    "neighbor_incident_count_7d": 0.05,
}
#: Weight of "looks like a known positive of this country/cluster" in the seed score.
SEED_SIMILARITY_WEIGHT: Final[float] = 0.3

_PARTS: Final[tuple[str, ...]] = ("proba_base", "proba_cluster", "proba_stack")


class ScoreFn(Protocol):
    """A query strategy's scoring function: one finite score per candidate row, higher = better."""

    def __call__(self, candidates: pd.DataFrame, rng: np.random.Generator, /) -> FloatArray: ...


# --------------------------------------------------------------------------------------- helpers


def require_columns(candidates: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> None:
    """Raise :class:`InputError` naming the columns a scorer needs but the frame lacks."""
    missing = [c for c in columns if c not in candidates.columns]
    if missing:
        raise InputError(f"candidate frame lacks column(s): {', '.join(missing)}")


def _floats(candidates: pd.DataFrame, column: str) -> FloatArray:
    require_columns(candidates, [column])
    return pd.to_numeric(candidates[column], errors="coerce").to_numpy(dtype=np.float64)


def _thresholds(candidates: pd.DataFrame) -> FloatArray:
    if "threshold" not in candidates.columns:
        return np.full(len(candidates), DEFAULT_THRESHOLD)
    t = _floats(candidates, "threshold")
    return np.clip(np.where(np.isnan(t), DEFAULT_THRESHOLD, t), 0.0, 1.0)


def binary_entropy(p: FloatArray) -> FloatArray:
    """Shannon entropy in bits of Bernoulli(p), with 0 log 0 = 0 (NaN stays NaN)."""
    q = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(q * np.log2(q) + (1.0 - q) * np.log2(1.0 - q))
    return np.where((q == 0.0) | (q == 1.0), 0.0, h)


def standardise(frame: pd.DataFrame, reference: pd.DataFrame | None = None) -> FloatArray:
    """Z-scores of the FEATURES present in ``frame`` using ``reference``'s mean/std.

    NaN becomes 0 (the mean) and constant columns get std 1, so distances stay finite. Distances
    on these are divided by sqrt(d) by callers: an RMS difference in standard deviations.
    """
    cols = [f for f in FEATURES if f in frame.columns]
    if not cols:
        return np.zeros((len(frame), 0))
    x = frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    ref = (
        x
        if reference is None
        else (reference[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64))
    )
    if ref.shape[0] == 0 or np.isnan(ref).all():
        return np.zeros_like(x)
    with np.errstate(invalid="ignore"):
        mean = np.nan_to_num(np.nanmean(ref, axis=0))
        std = np.nan_to_num(np.nanstd(ref, axis=0))
    std = np.where(std > 0.0, std, 1.0)
    return np.asarray(np.nan_to_num((x - mean) / std), dtype=np.float64)


def rms_distances(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise RMS distances (Euclidean / sqrt(d)) between rows of ``a`` and rows of ``b``."""
    sq = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.asarray(np.sqrt(np.maximum(sq, 0.0) / max(a.shape[1], 1)), dtype=np.float64)


# ------------------------------------------------------------------------------------ strategies


def score_uncertainty(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Closeness of ``proba`` to the country's own threshold t: ``1 - |p - t| / max(t, 1 - t)``.

    1 at p = t, 0 at the farther end of [0, 1]; dividing by max(t, 1 - t) keeps the range [0, 1]
    for any t. Uses the serving threshold, not 0.5, because that is where the label flips in
    production. NaN proba scores 0.
    """
    p = _floats(candidates, "proba")
    t = _thresholds(candidates)
    u = 1.0 - np.abs(p - t) / np.maximum(np.maximum(t, 1.0 - t), 1e-12)
    return np.nan_to_num(np.clip(u, 0.0, 1.0), nan=0.0)


def score_margin(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Textbook margin sampling, binary case: ``1 - |P(1) - P(0)| = 1 - |2p - 1|``. NaN scores 0."""
    p = np.clip(_floats(candidates, "proba"), 0.0, 1.0)
    return np.nan_to_num(1.0 - np.abs(2.0 * p - 1.0), nan=0.0)


def score_entropy(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Textbook Shannon entropy of the predicted class distribution, in bits. NaN scores 0."""
    return np.nan_to_num(binary_entropy(_floats(candidates, "proba")), nan=0.0)


def score_committee(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Disagreement among the model's own parts (base, cluster head, stack), in bits.

    The generalised Jensen-Shannon divergence of the available parts' Bernoulli distributions:
    ``H(mean p_i) - mean H(p_i)`` (= mean KL of each part to the consensus). NaN parts are ignored;
    fewer than two parts, or parts that agree exactly, score exactly 0; range [0, 1] bits.
    """
    require_columns(candidates, list(_PARTS))
    parts = np.column_stack([np.clip(_floats(candidates, c), 0.0, 1.0) for c in _PARTS])
    known = ~np.isnan(parts)
    n = known.sum(axis=1)
    filled = np.where(known, parts, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = filled.sum(axis=1) / n
        mean_h = np.where(known, binary_entropy(filled), 0.0).sum(axis=1) / n
        js = binary_entropy(mean_p) - mean_h
        spread = np.where(known, parts, -np.inf).max(axis=1) - np.where(known, parts, np.inf).min(
            axis=1
        )
    disagree = (n >= 2) & (spread > 0.0)
    return np.where(disagree, np.clip(np.nan_to_num(js, nan=0.0), 0.0, 1.0), 0.0)


def reliable_proba(candidates: pd.DataFrame) -> FloatArray:
    """``p * n / (n + 5)``, n the day's measurements: how much of ``p`` the evidence supports.

    The model learned from days with at least 5 measurements; on a candidate day with one or
    two, a single anomalous row moves anomaly_rate to 0.5 or 1 and the probability extrapolates.
    Discounting by n / (n + 5) ranks a day by the probability *and* the evidence behind it (a
    5-row day keeps half, a 1-row day a sixth, a 50-row day 91%). NaN stays NaN; without a
    ``measurement_count`` column the probability is returned as it is.
    """
    p = np.clip(_floats(candidates, "proba"), 0.0, 1.0)
    if "measurement_count" not in candidates.columns:
        return p
    n = np.maximum(np.nan_to_num(_floats(candidates, "measurement_count"), nan=0.0), 0.0)
    return np.asarray(p * n / (n + RELIABILITY_MEASUREMENTS), dtype=np.float64)


def score_likely_positive(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Exploitation: the probability itself (positives are the scarce class). NaN scores 0."""
    return np.nan_to_num(np.clip(_floats(candidates, "proba"), 0.0, 1.0), nan=0.0)


def score_label_errors(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """Suspected incident-label errors: ``|incident_label - oof_proba|`` where oof is known, else 0.

    Out-of-fold predictions never saw the sample's own label, so a strong contradiction points at
    a missing or wrong incident rather than at memorisation.
    """
    y = _floats(candidates, "incident_label")
    oof = np.clip(_floats(candidates, "oof_proba"), 0.0, 1.0)
    return np.nan_to_num(np.abs(y - oof), nan=0.0)


def score_random(candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
    """The control: independent uniform scores from ``rng``."""
    return rng.random(len(candidates))


def score_hybrid(
    candidates: pd.DataFrame,
    rng: np.random.Generator,
    *,
    positive_weight: float = HYBRID_POSITIVE_WEIGHT,
) -> FloatArray:
    """Default: ``w * q + (1 - w) * uncertainty(q, t)``, w = ``positive_weight`` (0.6).

    ``q`` is :func:`reliable_proba`: the probability discounted by the evidence behind it, so
    that one anomalous row on a quiet candidate day does not outrank a busy anomalous day.

    Sparse-positive countries need positives, so the probability dominates; the uncertainty term
    lifts items near the country's threshold, which also inform per-country calibration. With
    w = 0.6 the score peaks at p = t and confident negatives sink to 0. The exploration share is
    *not* applied here: selection fills that share of each country's quota by exploration picks
    (see :func:`labelbench.ml.selection.select_batch`).
    """
    if not 0.0 <= positive_weight <= 1.0:
        raise InputError(f"positive_weight must be in [0, 1], got {positive_weight}")
    supported = candidates.assign(proba=reliable_proba(candidates))
    return positive_weight * score_likely_positive(supported, rng) + (
        1.0 - positive_weight
    ) * score_uncertainty(supported, rng)


def evidence_score(candidates: pd.DataFrame) -> FloatArray:
    """Weighted mean of the evidence heuristics' percentile ranks within the frame, in [0, 1].

    Ranks make the heuristics comparable whatever their scale (spike_magnitude is an unbounded
    ratio, neighbour incident counts are integers); ties share the lowest rank, so the ~99.8% of
    days without probes all score 0 on probe_block_rate. Missing heuristics are skipped.
    """
    present = {c: w for c, w in SEED_EVIDENCE_WEIGHTS.items() if c in candidates.columns}
    if not present or len(candidates) <= 1:
        return np.zeros(len(candidates))
    total = np.zeros(len(candidates))
    for col, weight in present.items():
        values = pd.Series(_floats(candidates, col)).fillna(0.0)
        ranks = values.rank(method="min").to_numpy(dtype=np.float64)
        total += weight * (ranks - 1.0) / (len(candidates) - 1.0)
    return total / sum(present.values())


def score_seed(
    candidates: pd.DataFrame,
    rng: np.random.Generator,
    *,
    positives: pd.DataFrame | None = None,
    clusters: Mapping[str, tuple[str, ...]] | None = None,
) -> FloatArray:
    """Cold-start score from evidence alone, for when the model cannot rank (see module doc).

    ``(1 - s) * evidence_score + s * similarity`` with s = :data:`SEED_SIMILARITY_WEIGHT`, where
    similarity = ``1 / (1 + d)`` and d is the RMS standardised-feature distance to the nearest
    known positive of the same country, else of the same regime cluster. Countries with no
    reference positive use the evidence score alone. ``positives`` (``country`` + FEATURES)
    defaults to the candidates with ``incident_label == 1``; a candidate never matches itself.
    """
    require_columns(candidates, ["country"])
    evidence = evidence_score(candidates)
    if positives is None:
        if "incident_label" not in candidates.columns:
            return evidence
        positives = candidates[_floats(candidates, "incident_label") == 1.0]
    if len(positives) == 0 or "country" not in positives.columns:
        return evidence
    both = pd.concat([candidates, positives], ignore_index=True)
    z_cand, z_pos = standardise(candidates, both), standardise(positives, both)
    if z_cand.shape[1] == 0:
        return evidence
    pos_country = positives["country"].astype(str).to_numpy()
    pos_ids = positives["sample_id"].to_numpy() if "sample_id" in positives.columns else None
    cand_ids = candidates["sample_id"].to_numpy() if "sample_id" in candidates.columns else None
    cmap = dict(clusters) if clusters is not None else dict(DEFAULT_CLUSTERS)
    pos_cluster = np.array([cluster_of(c, cmap) or "" for c in pos_country], dtype=object)
    score = evidence.copy()
    countries = candidates["country"].astype(str).to_numpy()
    for country in np.unique(countries):
        rows = np.flatnonzero(countries == country)
        ref = pos_country == country
        if not ref.any():
            cluster = cluster_of(country, cmap)
            ref = (pos_cluster == cluster) if cluster else np.zeros(len(pos_country), bool)
        if not ref.any():
            continue
        dist = rms_distances(z_cand[rows], z_pos[ref])
        if pos_ids is not None and cand_ids is not None:
            dist = np.where(cand_ids[rows, None] == pos_ids[None, ref], np.inf, dist)
        nearest = dist.min(axis=1)
        sim = np.where(np.isfinite(nearest), 1.0 / (1.0 + nearest), 0.0)
        score[rows] = (1.0 - SEED_SIMILARITY_WEIGHT) * evidence[rows] + SEED_SIMILARITY_WEIGHT * sim
    return score


# -------------------------------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class Strategy:
    """A registered strategy: its scoring function, ``--help`` line and selection defaults."""

    name: str
    description: str
    score: ScoreFn
    #: Ranks by the model's probability, so it is replaced by the seed scorer on cold start.
    uses_model: bool
    #: Share of each country's quota selection fills by exploration when not overridden.
    exploration_share: float = 0.0

    def __call__(self, candidates: pd.DataFrame, rng: np.random.Generator) -> FloatArray:
        """Score ``candidates`` (one finite float per row)."""
        return self.score(candidates, rng)


STRATEGIES: Final[dict[str, Strategy]] = {
    s.name: s
    for s in (
        Strategy(
            "hybrid",
            "default: 0.6*q + 0.4*closeness of q to the country threshold (q = p * n/(n+5), "
            "n measurements), "
            f"{DEFAULT_EXPLORATION_SHARE:.0%} of each quota explored at random",
            score_hybrid,
            uses_model=True,
            exploration_share=DEFAULT_EXPLORATION_SHARE,
        ),
        Strategy(
            "uncertainty",
            "closeness of p to the country's serving threshold",
            score_uncertainty,
            uses_model=True,
        ),
        Strategy(
            "margin",
            "margin sampling: 1 - |P(1) - P(0)|",
            score_margin,
            uses_model=True,
        ),
        Strategy("entropy", "Shannon entropy of p in bits", score_entropy, uses_model=True),
        Strategy(
            "committee",
            "disagreement (Jensen-Shannon, bits) of base, cluster head and stack",
            score_committee,
            uses_model=True,
        ),
        Strategy(
            "likely_positive",
            "exploitation: highest p first",
            score_likely_positive,
            uses_model=True,
        ),
        Strategy(
            "label_errors",
            "incident labels most contradicted by out-of-fold predictions",
            score_label_errors,
            uses_model=False,
        ),
        Strategy(
            "seed",
            "evidence heuristics + similarity to known positives (no model needed)",
            score_seed,
            uses_model=False,
        ),
        Strategy("random", "control: uniform at random", score_random, uses_model=False),
    )
}


def get_strategy(name: str) -> Strategy:
    """The registered strategy ``name``, or :class:`InputError` listing the valid names."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(
            f"unknown strategy {name!r}; choose one of: {', '.join(STRATEGIES)}"
        ) from None


# ---------------------------------------------------------------------------- cold-start routing


@dataclass(frozen=True, slots=True)
class ScorerChoice:
    """Which scorer ranks one country's candidates, and why (shown to the lead/analyst)."""

    scorer: Literal["model", "seed"]
    n_positives: int
    reason: str


def choose_scorers(
    candidates: pd.DataFrame,
    *,
    positive_counts: Mapping[str, int] | None = None,
    min_positives: int = DEFAULT_MIN_POSITIVES,
) -> dict[str, ScorerChoice]:
    """Per country: ``"model"`` or ``"seed"``.

    Seed when the country has no probability at all (no model yet) or fewer than
    ``min_positives`` known positives. ``positive_counts`` should be the training set's positives
    per country; without it, candidates with ``incident_label == 1`` are counted.
    """
    require_columns(candidates, ["country", "proba"])
    countries = candidates["country"].astype(str)
    proba = pd.Series(_floats(candidates, "proba"), index=candidates.index)
    if positive_counts is None:
        labels = pd.Series(
            _floats(candidates, "incident_label")
            if "incident_label" in candidates.columns
            else np.zeros(len(candidates)),
            index=candidates.index,
        )
        counted = (labels == 1.0).groupby(countries).sum()
        positive_counts = {str(k): int(v) for k, v in counted.items()}
    has_proba = proba.notna().groupby(countries).any()
    choices: dict[str, ScorerChoice] = {}
    for country in sorted(countries.unique()):
        n_pos = int(positive_counts.get(country, 0))
        if not bool(has_proba[country]):
            choices[country] = ScorerChoice("seed", n_pos, "no model probability yet")
        elif n_pos < min_positives:
            choices[country] = ScorerChoice(
                "seed", n_pos, f"only {n_pos} known positive(s) (< {min_positives})"
            )
        else:
            choices[country] = ScorerChoice("model", n_pos, f"{n_pos} known positives")
    return choices


@dataclass(frozen=True, slots=True)
class Scores:
    """Scores for a candidate frame, row-aligned, with which scorer produced each one."""

    values: FloatArray
    #: Per row: the strategy's name, or ``"seed"`` where cold start replaced it.
    scorer: npt.NDArray[np.object_]
    #: The per-country routing decision (empty for strategies that do not use the model).
    routing: dict[str, ScorerChoice]


def score_candidates(
    candidates: pd.DataFrame,
    strategy: str,
    rng: np.random.Generator,
    *,
    positive_counts: Mapping[str, int] | None = None,
    min_positives: int = DEFAULT_MIN_POSITIVES,
    positives: pd.DataFrame | None = None,
    rereview_boost: float = DEFAULT_REREVIEW_BOOST,
) -> Scores:
    """Score with ``strategy``, seeding cold-start rows, then boost re-review candidates.

    Model-based strategies are replaced by :func:`score_seed` for every row without a
    probability and for every country :func:`choose_scorers` routes to ``"seed"``. Rows with
    ``rereview`` true get ``+ rereview_boost`` (default 1.0, above any fresh score): their human
    label rests on evidence that changed, so they must come back to analysts.
    """
    chosen = get_strategy(strategy)
    values = np.asarray(chosen(candidates, rng), dtype=np.float64)
    scorer = np.full(len(candidates), chosen.name, dtype=object)
    routing: dict[str, ScorerChoice] = {}
    if chosen.uses_model and len(candidates):
        routing = choose_scorers(
            candidates, positive_counts=positive_counts, min_positives=min_positives
        )
        seeded_countries = [c for c, r in routing.items() if r.scorer == "seed"]
        seed_rows = candidates["country"].astype(str).isin(seeded_countries).to_numpy() | np.isnan(
            _floats(candidates, "proba")
        )
        if seed_rows.any():
            seed = score_seed(candidates, rng, positives=positives)
            values = np.where(seed_rows, seed, values)
            scorer[seed_rows] = "seed"
    if "rereview" in candidates.columns:
        rereview = candidates["rereview"].fillna(False).astype(bool).to_numpy()
        values = values + rereview_boost * rereview
    return Scores(values=values, scorer=scorer, routing=routing)
