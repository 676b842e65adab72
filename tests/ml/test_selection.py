"""Batch selection: quotas, episode collapse, near-duplicates, exploration, stopping, seeds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml.selection import (
    BATCH_COLUMNS,
    allocate_quotas,
    select_batch,
    stopping_signal,
)
from labelbench.ml.strategies import score_candidates

D0 = dt.date(2024, 3, 1)


def frame(country: str, n: int, *, step: int = 5, start: int = 0, **columns: Any) -> pd.DataFrame:
    """``n`` candidates of ``country``, ``step`` days apart, with distinct random-ish features."""
    ids = np.arange(start + 1, start + n + 1)
    spread = np.random.default_rng(ids[0] if n else 0).normal(size=(n, len(FEATURES)))
    base: dict[str, Any] = {
        "sample_id": ids,
        "country": [country] * n,
        "day": [D0 + dt.timedelta(days=step * i) for i in range(n)],
        **{f: spread[:, j] for j, f in enumerate(FEATURES)},
        "incident_label": np.ones(n, dtype=int),
        "proba": np.linspace(0.9, 0.1, n) if n else [],
        "proba_base": np.linspace(0.9, 0.1, n) if n else [],
        "proba_cluster": np.full(n, np.nan),
        "proba_stack": np.full(n, np.nan),
        "threshold": np.full(n, 0.5),
        "oof_proba": np.full(n, np.nan),
        "rereview": np.zeros(n, dtype=bool),
    }
    base.update(columns)
    return pd.DataFrame(base)


def pool(sizes: dict[str, int]) -> pd.DataFrame:
    parts, start = [], 0
    for country, n in sizes.items():
        parts.append(frame(country, n, start=start))
        start += n
    return pd.concat(parts, ignore_index=True)


def select(c: pd.DataFrame, size: int, seed: int = 0, **kwargs: Any) -> pd.DataFrame:
    kwargs.setdefault("strategy_name", "likely_positive")
    return select_batch(
        c, c["proba"].to_numpy(), size=size, rng=np.random.default_rng(seed), **kwargs
    )


# ---------------------------------------------------------------------------------------- quotas


def test_allocate_equal_split_and_remainder_to_larger_pools() -> None:
    cap = {"OM": 10, "LY": 12, "YE": 11}
    assert allocate_quotas(cap, 9) == {"OM": 3, "LY": 3, "YE": 3}
    assert allocate_quotas(cap, 11) == {"OM": 3, "LY": 4, "YE": 4}


def test_allocate_redistributes_what_a_small_pool_cannot_take() -> None:
    assert allocate_quotas({"OM": 1, "LY": 20, "YE": 20}, 9) == {
        "OM": 1,
        "LY": 4,
        "YE": 4,
    }
    assert allocate_quotas({"OM": 2, "LY": 3}, 50) == {"OM": 2, "LY": 3}


def test_allocate_weights_and_exclusions() -> None:
    cap = {"OM": 20, "LY": 20, "IR": 20}
    assert allocate_quotas(cap, 8, weights={"OM": 3, "LY": 1}) == {
        "OM": 6,
        "LY": 2,
        "IR": 0,
    }
    assert allocate_quotas(cap, 9, exclude={"IR"}) == {"OM": 5, "LY": 4, "IR": 0} or (
        allocate_quotas(cap, 9, exclude={"IR"}) == {"OM": 4, "LY": 5, "IR": 0}
    )
    with pytest.raises(InputError):
        allocate_quotas(cap, 5, weights={"OM": -1})


def test_batch_gives_every_country_its_share_and_interleaves_ranks() -> None:
    c = pool({"OM": 8, "LY": 8, "YE": 12})
    batch = select(c, 10)
    assert list(batch.columns) == list(BATCH_COLUMNS)
    assert batch["country"].value_counts().to_dict() == {"YE": 4, "OM": 3, "LY": 3}
    assert set(batch.loc[batch["country"] == "YE", "country_quota"]) == {4}
    assert list(batch["rank"]) == list(range(1, 11))
    assert set(batch["country"].iloc[:3]) == {
        "OM",
        "LY",
        "YE",
    }  # first round covers all
    assert batch["sample_id"].is_unique


def test_exhausted_country_quota_moves_to_countries_still_paying_off() -> None:
    c = pool({"OM": 10, "KW": 10, "LY": 10})
    history = pd.DataFrame(
        {
            "country": ["KW"] * 20 + ["OM"] * 20,
            "verdict": ["negative"] * 20 + ["positive", "negative"] * 10,
            "labelled_at": pd.date_range("2024-01-01", periods=40, freq="h"),
        }
    )
    stop = stopping_signal(history)
    batch = select(c, 9, stopping=stop)
    assert "KW" not in set(batch["country"])
    assert batch["country"].value_counts().to_dict() in (
        {"OM": 5, "LY": 4},
        {"OM": 4, "LY": 5},
    )
    assert batch["reason"].str.contains("from exhausted KW").any()
    assert "yield 0%" in batch.attrs["exhausted"]["KW"]


# ------------------------------------------------------------------------------------- diversity


def test_adjacent_days_of_one_episode_collapse() -> None:
    days = [
        D0,
        D0 + dt.timedelta(days=1),
        D0 + dt.timedelta(days=2),
        D0 + dt.timedelta(days=10),
    ]
    c = frame("OM", 4, day=days, proba=[0.9, 0.85, 0.8, 0.1])
    assert list(select(c, 2)["day"]) == [days[0], days[2]]  # day 2 is adjacent to day 1
    assert list(select(c, 2, collapse_gap_days=2)["day"]) == [days[0], days[3]]
    assert list(select(c, 2, collapse_gap_days=0)["day"]) == [days[0], days[1]]


def test_adjacent_day_taken_when_nothing_else_is_left() -> None:
    c = frame("OM", 3, step=1, proba=[0.8, 0.9, 0.7])  # the middle day blocks both others
    batch = select(c, 2)
    assert len(batch) == 2
    assert "nothing else left" in batch["reason"].iloc[1]


def test_a_pool_no_larger_than_its_quota_is_shown_whole_by_probability() -> None:
    c = pd.concat([frame("OM", 3, step=1, proba=[0.2, 0.9, 0.5]), frame("LY", 20, step=7)])
    c["sample_id"] = np.arange(1, len(c) + 1)
    batch = select(c, 10)
    om = batch[batch["country"] == "OM"]
    assert list(om["sample_id"]) == [2, 3, 1]  # every day, adjacent ones too, by probability
    assert set(om["scorer"]) == {"exhaustive"}
    assert om["reason"].str.startswith("exhaustive review: 3 days left").all()
    assert (batch[batch["country"] == "LY"]["scorer"] != "exhaustive").all()


def test_near_duplicates_are_penalised() -> None:
    # penalty 0.5 x score range 0.8: the copy's 0.85 drops to 0.45, below the distinct 0.6
    c = frame("LY", 4, step=7, proba=[0.9, 0.85, 0.6, 0.1])
    c.loc[1, list(FEATURES)] = c.loc[0, list(FEATURES)].to_numpy() + 1e-3  # near-copy of row 0
    assert list(select(c, 2)["sample_id"]) == [1, 3]
    assert list(select(c, 2, duplicate_penalty=0.0)["sample_id"]) == [1, 2]
    assert list(select(c, 2, duplicate_tolerance=0.0)["sample_id"]) == [1, 2]


# ----------------------------------------------------------------------------------- exploration


def test_hybrid_explores_its_share_of_the_batch() -> None:
    c = pool({"OM": 15, "LY": 15})
    scores = score_candidates(c, "hybrid", np.random.default_rng(0))
    batch = select_batch(
        c, scores.values, size=10, strategy_name="hybrid", rng=np.random.default_rng(3)
    )
    explored = batch[batch["scorer"] == "explore"]
    assert len(explored) == 2 and explored["reason"].str.contains("explore").all()
    assert batch["country"].value_counts().to_dict() == {"OM": 5, "LY": 5}
    plain = select(c, 10, strategy_name="margin")
    assert (plain["scorer"] != "explore").all()  # benchmark strategies stay pure by default
    none = select(c, 10, strategy_name="hybrid", exploration_share=0.0)
    assert (none["scorer"] != "explore").all()


def test_exploration_by_evidence_scores_when_given() -> None:
    c = frame("OM", 10, proba=np.linspace(0.9, 0.1, 10))
    evidence = np.zeros(10)
    evidence[-1] = 1.0  # lowest model score, strongest evidence
    batch = select(c, 5, strategy_name="hybrid", exploration_scores=evidence)
    assert batch.loc[batch["scorer"] == "explore", "sample_id"].tolist() == [10]


# -------------------------------------------------------------------------------------- stopping


def test_stopping_by_yield_over_last_n_labels() -> None:
    verdicts = {
        "KW": ["positive"] * 5 + ["negative"] * 20,  # old positives, nothing lately
        "OM": ["negative"] * 18 + ["positive", "skip"],  # 1 in 20 = 5%: not below
        "TN": ["negative"] * 10,  # too few labels to judge
    }
    rows = [(c, v) for c, vs in verdicts.items() for v in vs]
    history = pd.DataFrame(rows, columns=["country", "verdict"]).assign(
        labelled_at=pd.date_range("2024-01-01", periods=len(rows), freq="min")
    )
    stop = stopping_signal(history).set_index("country")
    assert stop.loc["KW", "exhausted"] and stop.loc["KW", "recent_yield"] == 0.0
    assert not stop.loc["OM", "exhausted"] and stop.loc["OM", "recent_yield"] == 0.05
    assert not stop.loc["TN", "exhausted"] and stop["recent_yield"].isna()["TN"]
    assert "yield judged after 20" in str(stop.loc["TN", "reason"])


def test_stopping_by_prediction_stability() -> None:
    predictions = pd.DataFrame(
        {
            "country": ["YE"] * 3 + ["AM"] * 3 + ["LY"] * 2,
            "proba_prev": [0.20, 0.50, 0.70, 0.2, 0.5, 0.7, 0.3, 0.3],
            "proba_curr": [0.201, 0.499, 0.70, 0.4, 0.3, 0.9, 0.3, 0.3],
        }
    )
    history = pd.DataFrame(
        {
            "country": ["YE"] * 6 + ["AM"] * 6 + ["LY"] * 2,
            "verdict": ["positive"] * 14,
            "labelled_at": pd.date_range("2024-01-01", periods=14, freq="D"),
        }
    )
    stop = stopping_signal(history, predictions).set_index("country")
    assert stop.loc["YE", "exhausted"] and "stable" in str(stop.loc["YE", "reason"])
    assert not stop.loc["AM", "exhausted"]
    assert not stop.loc["LY", "exhausted"]  # stable, but only 2 labels: unchanged by design
    assert stopping_signal(None, predictions).set_index("country").loc["LY", "exhausted"]


# -------------------------------------------------------------------------- reasons, determinism


def test_reason_reads_like_a_sentence_and_rereview_comes_first() -> None:
    c = frame(
        "OM",
        5,
        proba=[0.62, 0.9, 0.1, 0.3, 0.05],
        threshold=[0.55] * 5,
        rereview=[False, False, False, False, True],
    )
    scores = score_candidates(c, "hybrid", np.random.default_rng(0))
    batch = select_batch(
        c,
        scores.values,
        size=2,
        strategy_name="hybrid",
        exploration_share=0.0,
        rng=np.random.default_rng(0),
        scorers=scores.scorer,
    )
    assert batch["sample_id"].tolist()[0] == 5
    assert batch["reason"].iloc[0].startswith("re-review (evidence changed); hybrid: p=0.05")
    assert batch["reason"].iloc[1] == "hybrid: p=0.62 near threshold 0.55; 2nd of 2 for OM"


def test_same_inputs_and_seed_give_identical_batch() -> None:
    c = pool({"OM": 20, "LY": 20, "YE": 20, "KW": 5})
    scores = np.random.default_rng(11).random(len(c)).round(1)  # many ties
    runs = [
        select_batch(c, scores, size=12, strategy_name="hybrid", rng=np.random.default_rng(5))
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    other = select_batch(c, scores, size=12, strategy_name="hybrid", rng=np.random.default_rng(6))
    assert not runs[0]["sample_id"].equals(other["sample_id"])


def test_bad_inputs_are_input_errors() -> None:
    c = frame("OM", 3)
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="scores"):
        select_batch(c, [0.1, 0.2], size=2, strategy_name="random", rng=rng)
    with pytest.raises(InputError, match="finite"):
        select_batch(c, [0.1, np.nan, 0.3], size=2, strategy_name="random", rng=rng)
    with pytest.raises(InputError, match="exploration"):
        select_batch(c, [0.1] * 3, size=2, strategy_name="hybrid", exploration_share=2, rng=rng)
    empty = select_batch(c.iloc[:0], [], size=5, strategy_name="random", rng=rng)
    assert list(empty.columns) == list(BATCH_COLUMNS) and len(empty) == 0
