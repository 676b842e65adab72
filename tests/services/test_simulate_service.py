"""Simulation on the tiny world: both oracles, reproducible by seed, CSV and chart written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labelbench.db import queries
from labelbench.db.truth import DemoTruth
from labelbench.services.simulate import run_simulation


@pytest.fixture
def ws(tiny_world_ws):  # type: ignore[no-untyped-def]
    tiny_world_ws.settings.training.jobs = 1
    return tiny_world_ws


def test_withheld_mode_rediscovers_hidden_positives(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = run_simulation(
        ws,
        rounds=2,
        batch_size=8,
        seeds=2,
        mode="withheld",
        out_dir=tmp_path,
        countries=["OM", "KW", "AE", "SA"],
    )
    data = run.to_dict()
    assert data["mode"] == "withheld" and data["hidden_labels"] > 0
    for name in ("hybrid", "random"):
        s = data["strategies"][name]
        assert s["labels_per_seed"] == 16
        assert 0 <= s["positives_per_100"] <= 100
        assert set(s["per_country"]) <= {"OM", "KW", "AE", "SA"}
        assert s["target_loco_f1_start"] is not None
    csv = pd.read_csv(run.csv_path)
    assert set(csv.columns) >= {"strategy", "seed", "round", "labels", "country", "found", "f1"}
    assert run.png_path is not None and run.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = run_simulation(
        ws, rounds=2, batch_size=8, seeds=2, mode="withheld", countries=["OM", "KW", "AE", "SA"]
    )
    pd.testing.assert_frame_equal(run.result.trajectory, again.result.trajectory)


def test_truth_mode_uses_the_hidden_truth(ws) -> None:  # type: ignore[no-untyped-def]
    from factories import tiny_world

    truth = tiny_world()["truth"]
    with ws.transaction() as session:
        queries.insert_frame(session, DemoTruth.__table__, truth)
    run = run_simulation(ws, rounds=1, batch_size=6, seeds=1, countries=["OM", "KW"])
    assert run.mode == "truth"
    traj = run.result.trajectory
    first = traj[traj["round"] == 1]
    assert first["labelled"].sum() == 18  # hybrid, random and the oracle arm x 6 labels
    # Candidate days below the sample rule are in the pool, and are what random mostly draws.
    assert run.result.pools["pool"].sum() > run.result.pools["hidden"].sum() > 0


def test_withheld_view_hides_positives_everywhere_a_strategy_looks(ws) -> None:  # type: ignore[no-untyped-def]
    """No column the replay hands to strategies tells withheld days from other negatives."""
    from labelbench.ml.simulation import VISIBLE_COLUMNS
    from labelbench.services.labels import training_frame
    from labelbench.services.simulate import withheld_view

    with ws.transaction(readonly=True) as session:
        frame = training_frame(session, include_candidates=True)
    targets = ["OM", "KW", "AE", "SA"]
    view, oracle, mask = withheld_view(frame, targets, 0.5)
    assert mask.sum() > 0 and (oracle[mask] == 1).all()
    samples = view["country"].isin(targets) & ~view["candidate_only"].astype(bool)
    negatives = samples & (view["label"] == 0) & ~pd.Series(mask)
    hidden = pd.Series(mask)
    for column in [c for c in VISIBLE_COLUMNS if c in ("incident_label", "candidate_only")] + [
        "label",
        "label_source",
        "human_verdict",
    ]:
        seen_hidden = set(view.loc[hidden, column].astype(str))
        seen_negative = set(view.loc[negatives, column].astype(str))
        assert seen_hidden <= seen_negative, column
    assert (view.loc[hidden, "incident_label"] == 0).all()
    assert (frame.loc[hidden, "incident_label"] == 1).all()  # the original is untouched
