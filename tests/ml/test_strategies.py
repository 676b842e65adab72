"""Query strategies: each scorer's ordering on hand-made cases, cold-start routing, re-review."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml.strategies import (
    STRATEGIES,
    binary_entropy,
    choose_scorers,
    get_strategy,
    reliable_proba,
    score_candidates,
    score_committee,
    score_entropy,
    score_hybrid,
    score_label_errors,
    score_likely_positive,
    score_margin,
    score_random,
    score_seed,
    score_uncertainty,
)


def frame(n: int, **columns: Any) -> pd.DataFrame:
    """A valid candidate frame of ``n`` quiet OM days; keyword columns override defaults."""
    base: dict[str, Any] = {
        "sample_id": np.arange(1, n + 1),
        "country": ["OM"] * n,
        "day": [dt.date(2024, 1, 1) + dt.timedelta(days=3 * i) for i in range(n)],
        **{f: np.zeros(n) for f in FEATURES},
        "incident_label": np.zeros(n, dtype=int),
        "proba": np.full(n, 0.5),
        "proba_base": np.full(n, 0.5),
        "proba_cluster": np.full(n, np.nan),
        "proba_stack": np.full(n, np.nan),
        "threshold": np.full(n, 0.5),
        "oof_proba": np.full(n, np.nan),
        "rereview": np.zeros(n, dtype=bool),
    }
    base.update(columns)
    return pd.DataFrame(base)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_margin_and_entropy_match_textbook_and_agree_on_order(
    rng: np.random.Generator,
) -> None:
    p = np.array([0.5, 0.1, 0.9, 0.3, 1.0, 0.0, 0.62, np.nan])
    c = frame(len(p), proba=p)
    margin = score_margin(c, rng)
    entropy = score_entropy(c, rng)
    known = p[:-1]
    np.testing.assert_allclose(margin[:-1], 1.0 - np.abs(known - (1.0 - known)))
    q = np.clip(known, 1e-300, 1 - 1e-16)
    textbook = -(known * np.log2(q) + (1 - known) * np.log2(1 - q))
    np.testing.assert_allclose(entropy[:-1], textbook, atol=1e-12)
    assert entropy[0] == 1.0 and entropy[4] == 0.0 and entropy[5] == 0.0
    assert margin[-1] == 0.0 and entropy[-1] == 0.0  # no probability, nothing to rank by
    # both are decreasing in |p - 0.5|, so they order the (distinct) items identically
    order = np.argsort(-margin[:-1], kind="stable")
    assert list(order) == list(np.argsort(-entropy[:-1], kind="stable"))


def test_binary_entropy_is_symmetric() -> None:
    p = np.linspace(0, 1, 11)
    np.testing.assert_allclose(binary_entropy(p), binary_entropy(1 - p))


def test_uncertainty_peaks_at_country_threshold_not_half(
    rng: np.random.Generator,
) -> None:
    p = np.round(np.linspace(0, 1, 21), 2)
    c = frame(len(p), proba=p, threshold=np.full(len(p), 0.3))
    u = score_uncertainty(c, rng)
    assert p[np.argmax(u)] == pytest.approx(0.3)
    assert u.max() == pytest.approx(1.0)
    assert u[p == 1.0][0] == pytest.approx(0.0)  # farther end of [0, 1] from t = 0.3
    assert u[p == 0.3][0] > u[p == 0.5][0]
    # NaN threshold means 0.5
    assert score_uncertainty(frame(1, proba=[0.5], threshold=[np.nan]), rng)[0] == 1.0


def test_committee_zero_when_parts_agree_and_grows_with_disagreement(
    rng: np.random.Generator,
) -> None:
    c = frame(
        6,
        proba_base=[0.1, 0.4, 0.7, 0.5, 0.5, 0.0],
        proba_cluster=[0.1, np.nan, np.nan, 0.6, 0.8, 1.0],
        proba_stack=[0.1, 0.4, np.nan, 0.5, 0.2, np.nan],
    )
    s = score_committee(c, rng)
    assert s[0] == 0.0  # three parts agree exactly
    assert s[1] == 0.0  # NaN cluster head ignored, the other two agree
    assert s[2] == 0.0  # a single part cannot disagree
    assert 0.0 < s[3] < s[4] < s[5]
    assert s[5] == pytest.approx(1.0)  # 0 vs 1: one full bit


def test_likely_positive_is_the_probability(rng: np.random.Generator) -> None:
    s = score_likely_positive(frame(3, proba=[0.2, 0.9, np.nan]), rng)
    np.testing.assert_allclose(s, [0.2, 0.9, 0.0])


def test_label_errors_ranks_most_contradicted_incident_labels_first(
    rng: np.random.Generator,
) -> None:
    c = frame(
        5,
        incident_label=[1, 0, 1, 0, 1],
        oof_proba=[0.05, 0.9, 0.7, 0.1, np.nan],
    )
    s = score_label_errors(c, rng)
    assert list(np.argsort(-s, kind="stable")) == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(s, [0.95, 0.9, 0.3, 0.1, 0.0])


def test_random_is_uniform_and_reproducible() -> None:
    c = frame(50)
    a = score_random(c, np.random.default_rng(1))
    b = score_random(c, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert ((a >= 0) & (a < 1)).all()
    assert not np.array_equal(a, score_random(c, np.random.default_rng(2)))


def test_hybrid_prefers_near_threshold_then_likely_positive(
    rng: np.random.Generator,
) -> None:
    # Busy days: the evidence discount (n / (n + 5)) is negligible.
    c = frame(
        4,
        proba=[0.02, 0.55, 0.95, 0.40],
        threshold=np.full(4, 0.55),
        measurement_count=np.full(4, 1e12),
    )
    s = score_hybrid(c, rng)
    assert list(np.argsort(-s)) == [1, 2, 3, 0]
    assert s[0] < 0.1
    only_p = score_hybrid(c, rng, positive_weight=1.0)
    np.testing.assert_allclose(only_p, score_likely_positive(c, rng))
    with pytest.raises(InputError):
        score_hybrid(c, rng, positive_weight=1.5)


def test_hybrid_discounts_a_probability_by_the_evidence_behind_it(
    rng: np.random.Generator,
) -> None:
    """One anomalous row on a quiet day must not outrank a busy anomalous day."""
    c = frame(3, proba=[0.9, 0.6, 0.6], measurement_count=[1.0, 40.0, 0.0])
    q = reliable_proba(c)
    np.testing.assert_allclose(q, [0.9 / 6, 0.6 * 40 / 45, 0.0])
    assert list(np.argsort(-score_hybrid(c, rng))) == [1, 0, 2]


def test_seed_ranks_obvious_anomaly_day_first(rng: np.random.Generator) -> None:
    n = 6
    c = frame(
        n,
        anomaly_rate=[0.05, 0.04, 0.92, 0.06, 0.10, 0.03],
        spike_magnitude=[1.0, 0.9, 6.5, 1.1, 1.3, 0.8],
        probe_block_rate=[0, 0, 0.8, 0, 0, 0],
        neighbor_block_rate_7d=[0.1, 0.1, 0.4, 0.1, 0.2, 0.1],
        proba=np.full(n, np.nan),
    )
    s = score_seed(c, rng)
    assert int(np.argmax(s)) == 2
    assert ((s >= 0) & (s <= 1)).all()


def test_seed_similarity_to_known_positive_breaks_evidence_ties(
    rng: np.random.Generator,
) -> None:
    # rows 0 and 1 carry identical evidence; row 1 resembles a known LY positive elsewhere
    c = frame(
        3,
        country=["LY"] * 3,
        anomaly_rate=[0.3, 0.3, 0.1],
        measurement_count=[10.0, 80.0, 20.0],
    )
    positives = frame(1, country=["LY"], anomaly_rate=[0.3], measurement_count=[80.0])
    positives["sample_id"] = [99]
    s = score_seed(c, rng, positives=positives)
    assert s[1] > s[0] > s[2]
    # no LY positive: a positive of the same regime cluster (MENA) is the reference
    cluster_ref = positives.assign(country="OM")
    assert (
        score_seed(c, rng, positives=cluster_ref)[1] > score_seed(c, rng, positives=cluster_ref)[0]
    )
    # outside every cluster, no reference: evidence alone, rows 0 and 1 tie
    far = score_seed(c.assign(country="DE"), rng, positives=cluster_ref)
    assert far[0] == far[1]


def test_choose_scorers_seeds_without_model_or_with_few_positives() -> None:
    c = pd.concat(
        [
            frame(3, country=["OM"] * 3, proba=[np.nan] * 3, incident_label=[1, 1, 1]),
            frame(3, country=["KW"] * 3, incident_label=[1, 0, 0]),
            frame(3, country=["IR"] * 3, incident_label=[1, 1, 1]),
        ],
        ignore_index=True,
    )
    choice = choose_scorers(c)
    assert choice["OM"].scorer == "seed" and "no model" in choice["OM"].reason
    assert choice["KW"].scorer == "seed" and "only 1 known positive" in choice["KW"].reason
    assert choice["IR"].scorer == "model"
    counts = {"KW": 12, "IR": 0}
    override = choose_scorers(c, positive_counts=counts)
    assert override["KW"].scorer == "model" and override["IR"].scorer == "seed"
    assert choose_scorers(c, min_positives=1)["KW"].scorer == "model"


def test_score_candidates_routes_cold_start_rows_to_seed(
    rng: np.random.Generator,
) -> None:
    c = pd.concat(
        [
            frame(
                3,
                country=["IR"] * 3,
                incident_label=[1, 1, 1],
                proba=[0.2, np.nan, 0.6],
            ),
            frame(2, country=["KW"] * 2, proba=[0.5, 0.5]),
        ],
        ignore_index=True,
    )
    scores = score_candidates(c, "hybrid", rng)
    assert list(scores.scorer) == ["hybrid", "seed", "hybrid", "seed", "seed"]
    assert scores.routing["KW"].scorer == "seed"
    np.testing.assert_allclose(scores.values[[0, 2]], score_hybrid(c, rng)[[0, 2]])
    # model-free strategies are never seeded
    assert set(score_candidates(c, "random", rng).scorer) == {"random"}
    assert score_candidates(c, "label_errors", rng).routing == {}


def test_rereview_boost_brings_candidates_back_first(rng: np.random.Generator) -> None:
    c = frame(
        4,
        proba=[0.5, 0.51, 0.02, 0.45],
        rereview=[False, False, True, False],
        incident_label=[1] * 4,
    )
    scores = score_candidates(c, "uncertainty", rng)
    assert int(np.argmax(scores.values)) == 2
    plain = score_candidates(c, "uncertainty", rng, rereview_boost=0.0)
    assert int(np.argmin(plain.values)) == 2


def test_registry_every_strategy_scores_every_row_in_unit_range() -> None:
    c = frame(
        8,
        proba=np.linspace(0.05, 0.95, 8),
        proba_cluster=np.linspace(0.9, 0.1, 8),
        oof_proba=np.linspace(0, 1, 8),
        anomaly_rate=np.linspace(0, 1, 8),
        incident_label=[0, 1] * 4,
    )
    assert "hybrid" in STRATEGIES and STRATEGIES["hybrid"].exploration_share == 0.2
    for name, strategy in STRATEGIES.items():
        assert strategy.name == name and strategy.description
        s = strategy(c, np.random.default_rng(0))
        assert s.shape == (8,) and np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all(), name


def test_unknown_strategy_and_missing_columns_are_input_errors(
    rng: np.random.Generator,
) -> None:
    with pytest.raises(InputError, match="unknown strategy"):
        get_strategy("nope")
    with pytest.raises(InputError, match="proba"):
        score_margin(frame(2).drop(columns="proba"), rng)
