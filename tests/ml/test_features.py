"""Hand-computed cases for every feature of the production feature builder."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import count

import numpy as np
import pandas as pd
import pytest

from labelbench.domain.constants import FEATURES
from labelbench.errors import InputError
from labelbench.ml.features import (
    FEATURE_DEFINITIONS,
    OUTPUT_COLUMNS,
    build_samples,
    contagion_weights,
    daily_series,
    pair_weight,
    trailing_max,
    trailing_min,
    trailing_sum,
)

_refs = count()
D0 = date(2026, 6, 1)  # a Monday


def rows(
    country: str, day: date, n: int, anomalous: int, **extra: object
) -> list[dict[str, object]]:
    """``n`` evidence rows of one country-day, the first ``anomalous`` of them anomalous."""
    stamp = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=12)
    out: list[dict[str, object]] = []
    for i in range(n):
        ref = next(_refs)
        out.append(
            {
                "source": "ooni",
                "kind": "web_connectivity",
                "source_ref": f"ref-{ref}",
                "source_url": f"https://explorer.ooni.org/m/ref-{ref}",
                "observed_at": stamp + pd.Timedelta(seconds=i),
                "country": country,
                "asn": "AS1",
                "signal_type": None,
                "signal_value": np.nan,
                "signal_baseline": np.nan,
                "signal_level": "anomaly" if i < anomalous else "ok",
                "domain": "twitter.com",
                "blocking_method": "dns" if i < anomalous else None,
                "confidence": 0.9,
                "anomalous": i < anomalous,
                **extra,
            }
        )
    return out


def frame(*groups: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([r for g in groups for r in g])


NO_INCIDENTS = pd.DataFrame(columns=["country", "first_seen", "last_seen", "incident_type"])
NO_PROBES = pd.DataFrame(
    columns=["country", "day", "node_count", "block_rate", "avg_confidence", "agreement"]
)


def build(evidence: pd.DataFrame, **kw: object) -> pd.DataFrame:
    incidents = kw.pop("incidents", NO_INCIDENTS)
    probes = kw.pop("probes", NO_PROBES)
    neighbours = kw.pop("neighbours", {})
    return build_samples(evidence, incidents, probes, neighbours, **kw)  # type: ignore[arg-type]


def row_of(samples: pd.DataFrame, country: str, day: date) -> pd.Series:
    hit = samples[(samples["country"] == country) & (samples["day"] == day)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_output_shape_and_calendar_features() -> None:
    sat = date(2026, 6, 6)
    samples = build(frame(rows("AA", sat, 10, 4), rows("AA", D0, 50, 5)))
    assert tuple(samples.columns) == OUTPUT_COLUMNS
    assert list(samples["day"]) == [D0, sat]
    assert all(type(d) is date for d in samples["day"])
    assert all(samples[f].dtype == np.float64 for f in FEATURES)
    assert set(FEATURE_DEFINITIONS) == set(FEATURES)
    r = row_of(samples, "AA", sat)
    assert r["anomaly_rate"] == 0.4
    assert r["measurement_count"] == 10.0
    assert r["evidence_count"] == 10
    assert (r["day_of_week"], r["month"], r["is_weekend"]) == (5.0, 6.0, 1.0)
    assert r["rate_count_interaction"] == pytest.approx(4.0)
    assert r["high_evidence"] == 0.0
    first = row_of(samples, "AA", D0)
    assert (first["day_of_week"], first["is_weekend"], first["high_evidence"]) == (0.0, 0.0, 1.0)


def test_day_is_the_utc_date() -> None:
    late = frame(rows("AA", D0, 5, 0))
    late["observed_at"] = pd.Timestamp("2026-06-01T23:30:00-02:00")  # 01:30 UTC on June 2
    samples = build(late)
    assert list(samples["day"]) == [date(2026, 6, 2)]


def test_spike_magnitude_uses_trailing_30_days_of_evidence() -> None:
    d = date(2026, 8, 1)
    evidence = frame(
        rows("AA", d - timedelta(days=31), 2, 2),  # outside [d-30, d-1]
        rows("AA", d - timedelta(days=30), 5, 1),  # 0.2, on the window's edge
        rows("AA", d - timedelta(days=5), 2, 1),  # 0.5, sub-threshold but counts
        rows("AA", d, 10, 6),
    )
    samples = build(evidence)
    r = row_of(samples, "AA", d)
    baseline = (0.2 + 0.5) / 2
    assert r["spike_magnitude"] == pytest.approx(0.6 / (baseline + 0.05))
    assert r["rate_spike_interaction"] == pytest.approx(0.6 * 0.6 / (baseline + 0.05))
    edge = row_of(samples, "AA", d - timedelta(days=30))
    assert edge["spike_magnitude"] == pytest.approx(0.2 / (1.0 + 0.05))
    # The first evidence day has no history at all.
    alone = build(frame(rows("BB", d, 5, 5)))
    assert alone.iloc[0]["spike_magnitude"] == 1.0


def test_min_evidence_threshold_but_series_use_every_day() -> None:
    evidence = frame(rows("AA", D0, 4, 4), rows("AA", D0 + timedelta(days=1), 5, 0))
    samples = build(evidence)
    assert list(samples["day"]) == [D0 + timedelta(days=1)]
    # The 4-row day still fed the baseline: 0 / (1.0 + 0.05).
    assert samples.iloc[0]["spike_magnitude"] == 0.0
    assert len(build(evidence, min_evidence=3)) == 2
    series = daily_series(evidence)
    assert list(series["measurement_count"]) == [4, 5]
    assert list(series["anomaly_rate"]) == [1.0, 0.0]
    with pytest.raises(InputError):
        build(evidence, min_evidence=0)


def test_probe_join_and_zero_without_probe() -> None:
    evidence = frame(rows("AA", D0, 5, 1), rows("AA", D0 + timedelta(days=1), 5, 1))
    probes = pd.DataFrame(
        {
            "country": ["AA", "ZZ"],
            "day": [D0, D0],
            "node_count": [12, 3],
            "block_rate": [0.75, 0.1],
            "avg_confidence": [0.8, 0.5],
            "agreement": [0.9, 0.5],
        }
    )
    samples = build(evidence, probes=probes)
    probe_cols = ["probe_block_rate", "probe_node_count", "probe_avg_confidence", "probe_agreement"]
    assert list(samples.iloc[0][probe_cols]) == [0.75, 12.0, 0.8, 0.9]
    assert list(samples.iloc[1][probe_cols]) == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(InputError):
        build(evidence, probes=pd.concat([probes, probes]))


def test_incident_label_inclusive_and_disruption_excluded() -> None:
    days = [D0 + timedelta(days=i) for i in range(6)]
    evidence = frame(*(rows("AA", d, 5, 0) for d in days))
    incidents = pd.DataFrame(
        {
            "country": ["AA", "AA", "AA", "BB"],
            "first_seen": [days[0], days[2], days[4], days[5]],
            "last_seen": [days[1], days[2], days[5], days[5]],
            "incident_type": ["censorship", "disruption", "mixed", "censorship"],
        }
    )
    samples = build(evidence, incidents=incidents)
    assert list(samples["incident_label"]) == [1, 1, 0, 0, 1, 1]
    assert samples["incident_label"].dtype == np.int64


def alternating(
    country: str, days: list[date], pattern: list[float], n: int
) -> list[dict[str, object]]:
    """One evidence day per entry of ``pattern`` with that anomaly_rate (``n`` rows a day)."""
    out: list[dict[str, object]] = []
    for d, rate in zip(days, pattern, strict=True):
        out += rows(country, d, n, round(rate * n))
    return out


def test_contagion_weight_known_r_negative_and_overlap_rule() -> None:
    days = [D0 + timedelta(days=i) for i in range(12)]
    x = [1.0, 0.0] * 6
    evidence = frame(
        alternating("AA", days, x, 5),
        alternating("BB", days[:10], [*x[:8], 0.0, 1.0], 5),
        alternating("CC", days[:10], [1 - v for v in x[:10]], 5),
    )
    # Over days 0..9: AA = 1,0,1,0,1,0,1,0,1,0 and BB = same but days 8, 9 swapped. Centred
    # products are +0.25 on 8 days and -0.25 on 2, so cov = 1.5/10 and var = 0.25: r = 0.6.
    weight, overlap = pair_weight(evidence, "AA", "BB", days[10])
    assert weight == pytest.approx(0.6)
    assert overlap == 10
    assert pair_weight(evidence, "AA", "CC", days[10]) == (0.0, 10)  # r = -1 -> 0
    # On day 9 only days 0..8 overlap: 9 < 10, the edge is dropped whatever r is.
    assert pair_weight(evidence, "AA", "BB", days[9]) == (0.0, 9)
    weights = contagion_weights(evidence, {"AA": frozenset({"BB", "CC"})})
    w = weights.set_index(["neighbour", "day"])
    assert w.loc[("BB", days[10]), "weight"] == pytest.approx(0.6)
    assert w.loc[("BB", days[10]), "overlap_days"] == 10
    assert w.loc[("BB", days[9]), "weight"] == 0.0
    assert w.loc[("BB", days[9]), "overlap_days"] == 9
    assert w.loc[("CC", days[10]), "weight"] == 0.0
    assert set(weights["country"]) == {"AA"}


def test_constant_series_drops_the_edge() -> None:
    days = [D0 + timedelta(days=i) for i in range(11)]
    evidence = frame(
        alternating("AA", days, [1.0, 0.0] * 5 + [1.0], 5),
        alternating("BB", days, [0.4] * 11, 5),
    )
    assert pair_weight(evidence, "AA", "BB", days[10]) == (0.0, 10)
    w = contagion_weights(evidence, {"AA": frozenset({"BB"})})
    assert (w["weight"] == 0.0).all()


def test_neighbour_features_hand_computed() -> None:
    days = [D0 + timedelta(days=i) for i in range(12)]
    x = [1.0, 0.0] * 5  # days 0..9
    c_pattern = [0.0, 1.0, *x[2:]]  # days 0, 1 swapped -> r = 0.6, same within the window
    evidence = frame(
        alternating("AA", days[:10], x, 6),
        rows("AA", days[10], 6, 0),
        alternating("BB", days[:10], x, 6),  # r = 1
        alternating("CC", days[:10], [v * 0.5 for v in c_pattern], 6),  # r = 0.6 (scale-free)
    )
    incidents = pd.DataFrame(
        {
            "country": ["BB", "BB", "CC", "CC"],
            "first_seen": [days[6], days[5], days[1], days[9]],
            "last_seen": [days[7], days[5], days[2], days[11]],
            "incident_type": ["censorship", "disruption", "mixed", "mixed"],
        }
    )
    neighbours = {"AA": frozenset({"BB", "CC", "XX"})}
    samples = build(evidence, incidents=incidents, neighbours=neighbours)
    r = row_of(samples, "AA", days[10])
    # Window [d-7, d-1] = days 3..9: x there is 0,1,0,1,0,1,0 -> mean 3/7, max 1.
    mean_b, mean_c = 3 / 7, 0.5 * 3 / 7
    assert r["neighbor_block_rate_7d"] == pytest.approx((1.0 * mean_b + 0.6 * mean_c) / 1.6)
    assert r["neighbor_max_anomaly_7d"] == pytest.approx(max(1.0 * 1.0, 0.6 * 0.5))
    # BB: one censorship incident in the window (the disruption does not count); CC: the mixed
    # incident of days 1-2 ends before the window, the one from day 9 touches it.
    assert r["neighbor_incident_count_7d"] == pytest.approx(1.0 * 1 + 0.6 * 1)
    # Day 9 has only 9 overlapping days: no neighbour counts.
    early = row_of(samples, "AA", days[9])
    assert early[["neighbor_block_rate_7d", "neighbor_incident_count_7d"]].tolist() == [0.0, 0.0]


def test_vectorised_weights_match_reference() -> None:
    rng = np.random.default_rng(3)
    groups = []
    for country in ("AA", "BB", "CC"):
        for i in range(70):
            if rng.random() < 0.7:
                groups.append(rows(country, D0 + timedelta(days=i), 4, int(rng.integers(0, 5))))
    evidence = frame(*groups)
    weights = contagion_weights(evidence, {"AA": frozenset({"BB", "CC"}), "BB": frozenset({"AA"})})
    sample = weights.sample(40, random_state=0)
    for rec in sample.itertuples():
        w, overlap = pair_weight(evidence, rec.country, rec.neighbour, rec.day)
        assert rec.weight == pytest.approx(w, abs=1e-12)
        assert rec.overlap_days == overlap
    assert (weights["weight"] > 0).any()


def test_trailing_helpers_match_brute_force() -> None:
    values = np.random.default_rng(0).random((50, 2))
    for window in (1, 7, 30):
        sums, maxes = trailing_sum(values, window), trailing_max(values, window)
        mins = trailing_min(values, window)
        for d in range(50):
            seg = values[max(0, d - window) : d]
            if len(seg):
                assert np.allclose(sums[d], seg.sum(axis=0))
                assert (maxes[d] == seg.max(axis=0)).all() and (mins[d] == seg.min(axis=0)).all()
            else:
                assert (sums[d] == 0).all() and np.isneginf(maxes[d]).all()


def _world() -> tuple[pd.DataFrame, pd.DataFrame]:
    days = [D0 + timedelta(days=i) for i in range(15)]
    rng = np.random.default_rng(1)
    evidence = frame(
        *(rows(c, d, int(rng.integers(3, 9)), int(rng.integers(0, 4))) for c in "AB" for d in days)
    )
    evidence["country"] = evidence["country"].map({"A": "AA", "B": "BB"})
    incidents = pd.DataFrame(
        {
            "country": ["AA"],
            "first_seen": [days[3]],
            "last_seen": [days[5]],
            "incident_type": ["censorship"],
        }
    )
    return evidence, incidents


def test_row_order_independence_and_idempotence() -> None:
    evidence, incidents = _world()
    nb = {"AA": frozenset({"BB"}), "BB": frozenset({"AA"})}
    first = build(evidence, incidents=incidents, neighbours=nb)
    again = build(evidence, incidents=incidents, neighbours=nb)
    shuffled = build(
        evidence.sample(frac=1.0, random_state=7).reset_index(drop=True),
        incidents=incidents,
        neighbours=nb,
    )
    pd.testing.assert_frame_equal(first, again)
    pd.testing.assert_frame_equal(first, shuffled)
    assert first["fingerprint"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert first["fingerprint"].is_unique


def test_fingerprint_changes_only_for_the_edited_day() -> None:
    evidence, incidents = _world()
    base = build(evidence, incidents=incidents)
    target_day = evidence["observed_at"].iloc[0].date()
    edited = evidence.copy()
    edited.loc[0, "confidence"] = 0.91
    changed = build(edited, incidents=incidents)
    diff = base["fingerprint"] != changed["fingerprint"]
    assert diff.sum() == 1
    assert base.loc[diff, "day"].iloc[0] == target_day
    assert base.loc[diff, "country"].iloc[0] == evidence.loc[0, "country"]
    added = pd.concat([evidence, evidence.iloc[[0]].assign(source_ref="extra")], ignore_index=True)
    assert (build(added, incidents=incidents)["fingerprint"] != base["fingerprint"]).sum() == 1
    big = base[base["evidence_count"] >= 6].iloc[0]
    victim = evidence.index[
        (evidence["country"] == big["country"]) & (evidence["observed_at"].dt.date == big["day"])
    ][0]
    dropped = build(evidence.drop(index=victim), incidents=incidents)
    diff = dropped["fingerprint"] != base["fingerprint"]
    assert diff.sum() == 1 and base.loc[diff, "day"].iloc[0] == big["day"]


def test_missing_columns_and_empty_evidence_are_input_errors() -> None:
    with pytest.raises(InputError):
        build(pd.DataFrame({"country": ["AA"]}))
    with pytest.raises(InputError):
        build(frame(rows("AA", D0, 5, 0)).iloc[0:0])


def test_fingerprints_do_not_depend_on_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    evidence, incidents = _world()
    whole = build(evidence, incidents=incidents)
    monkeypatch.setattr("labelbench.ml.features._FINGERPRINT_CHUNK_ROWS", 7)
    pd.testing.assert_frame_equal(whole, build(evidence, incidents=incidents))


def test_aggregate_rows_weigh_their_measurements_and_plain_fingerprints_are_stable() -> None:
    evidence, incidents = _world()
    base = build(evidence, incidents=incidents)
    # The aggregate columns, all NULL, change nothing: not the features, not the fingerprints.
    with_nulls = evidence.assign(
        measurements=pd.array([None] * len(evidence), dtype="Int64"),
        anomalous_measurements=pd.array([None] * len(evidence), dtype="Int64"),
    )
    pd.testing.assert_frame_equal(build(with_nulls, incidents=incidents), base)
    # One aggregate row of 60 measurements (45 anomalous) beside 5 plain rows (2 anomalous).
    plain = frame(rows("ZZ", D0, 5, 2))
    agg = plain.iloc[[0]].assign(
        source_ref="agg", anomalous=False, measurements=60, anomalous_measurements=45
    )
    mixed = pd.concat([plain, agg], ignore_index=True)
    out = row_of(build(mixed), "ZZ", D0)
    assert out["measurement_count"] == 65 and out["evidence_count"] == 65
    assert out["anomaly_rate"] == pytest.approx(47 / 65)
    assert out["high_evidence"] == 1.0
    bumped = mixed.copy()
    bumped.loc[5, "anomalous_measurements"] = 44
    assert row_of(build(bumped), "ZZ", D0)["fingerprint"] != out["fingerprint"]


def test_incident_labels_match_the_builder() -> None:
    from labelbench.ml.features import incident_labels

    evidence, incidents = _world()
    built = build(evidence, incidents=incidents)
    derived = incident_labels(built[["country", "day"]], incidents)
    assert (derived == built["incident_label"].to_numpy()).all()
    assert derived.sum() > 0
