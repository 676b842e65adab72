"""The demo world is deterministic and shows the published statistics at scale 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelbench.domain.constants import (
    DEFAULT_CLUSTERS,
    HIGH_IMPACT,
    INCIDENT_TYPES,
    PRIORITY_TARGETS,
    WATCH_LIST,
)
from labelbench.domain.countries import default_neighbours
from labelbench.ml.features import build_samples
from labelbench.synth.demo import DemoWorld, generate_demo_world


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_demo_world(0)


@pytest.fixture(scope="module")
def candidates(world: DemoWorld) -> pd.DataFrame:
    """Every country-day with evidence (the queue's candidate days) and its truth."""
    built = build_samples(
        world.evidence, world.incidents, world.probe_metrics, default_neighbours(), min_evidence=1
    )
    return built.merge(world.truth[["country", "day", "is_censorship"]], on=["country", "day"])


@pytest.fixture(scope="module")
def samples(candidates: pd.DataFrame) -> pd.DataFrame:
    return candidates[candidates["evidence_count"] >= 5].reset_index(drop=True)


def _frames(w: DemoWorld) -> list[pd.DataFrame]:
    return [w.evidence, w.incidents, w.probe_metrics, w.truth]


def test_same_seed_same_world(world: DemoWorld) -> None:
    again = generate_demo_world(0)
    assert again.countries == world.countries
    for a, b in zip(_frames(world), _frames(again), strict=True):
        pd.testing.assert_frame_equal(a, b)


def test_different_seeds_differ(world: DemoWorld) -> None:
    other = generate_demo_world(1)
    assert other.countries == world.countries
    assert len(other.evidence) != len(world.evidence) or not other.evidence.equals(world.evidence)
    assert not other.incidents.equals(world.incidents)


def test_countries(world: DemoWorld, samples: pd.DataFrame) -> None:
    assert len(world.countries) == 131 == len(set(world.countries))
    required = (
        set(WATCH_LIST) | set(HIGH_IMPACT) | {c for m in DEFAULT_CLUSTERS.values() for c in m}
    )
    assert required <= set(world.countries)
    assert samples["country"].nunique() == 131


def test_published_statistics(world: DemoWorld, samples: pd.DataFrame) -> None:
    assert 3_800 <= len(samples) <= 4_600
    assert 0.22 <= samples["incident_label"].mean() <= 0.30
    assert 75_000 <= len(world.evidence) <= 95_000
    assert 2_300 <= len(world.incidents) <= 2_900
    assert set(world.incidents["incident_type"]) == set(INCIDENT_TYPES)
    per_country = samples.groupby("country").size()
    assert per_country.max() > 100
    assert 8 <= per_country["KW"] <= 18
    # Sub-threshold days exist and feed the series.
    per_day = world.evidence.groupby(
        [world.evidence["country"].astype(str), world.evidence["observed_at"].dt.date]
    ).size()
    assert ((per_day >= 1) & (per_day <= 4)).sum() > 500


def test_sparse_positive_targets(world: DemoWorld, samples: pd.DataFrame) -> None:
    truth = world.truth.set_index(["country", "day"])["is_censorship"]
    keyed = samples.set_index(["country", "day"])
    for code in PRIORITY_TARGETS:
        mine = keyed.loc[code]
        labelled = int(mine["incident_label"].sum())
        true_pos = int(truth.loc[code].reindex(mine.index).sum())
        assert 5 <= labelled <= 15, code
        assert true_pos > labelled, code


def test_missing_positives_hide_among_candidate_days(candidates: pd.DataFrame) -> None:
    """The premise: a few hundred candidate days per watch-list country, 2-8% of them censorship
    days no incident marked (>= 25 in each priority country, KW >= 12), busy and quiet alike."""
    for code in WATCH_LIST:
        pool = candidates[candidates["country"] == code]
        hidden = pool[pool["is_censorship"] & (pool["incident_label"] == 0)]
        assert 200 <= len(pool) <= 365, code
        assert 0.02 <= len(hidden) / len(pool) <= 0.08, code
        if code in PRIORITY_TARGETS:
            assert len(hidden) >= (12 if code == "KW" else 25), code
            busy = int((hidden["evidence_count"] >= 5).sum())
            assert 0 < busy < len(hidden), code


def test_sparse_neighbour_overlap(world: DemoWorld, samples: pd.DataFrame) -> None:
    days = samples.groupby("country")["day"].apply(set).to_dict()
    nb = default_neighbours()
    overlaps = [len(days[a] & days[b]) for a in world.countries for b in nb[a] if b in days]
    assert np.median(overlaps) <= 5


def test_evidence_looks_like_production(world: DemoWorld) -> None:
    ev = world.evidence
    assert set(ev["source"].astype(str)) == {"ooni", "censoredplanet", "ioda", "probe"}
    assert ev.groupby("source", observed=True)["source_ref"].apply(lambda s: s.is_unique).all()
    assert str(ev["observed_at"].dt.tz) == "UTC"
    ooni = ev[(ev["source"] == "ooni") & ev["anomalous"]]
    assert set(ooni["blocking_method"].astype(str)) <= {
        "dns",
        "tcp_ip",
        "http-failure",
        "http-diff",
    }
    ioda = ev[ev["source"] == "ioda"]
    assert set(ioda["signal_type"].astype(str)) == {"bgp", "active-probing", "telescope"}
    assert ev["asn"].dropna().astype(str).str.fullmatch(r"AS\d+").all()
    assert 0 < len(world.probe_metrics) < 0.005 * 131 * 365
    disruption_days = world.truth[world.truth["kind"] == "disruption"]
    assert not disruption_days["is_censorship"].any()
