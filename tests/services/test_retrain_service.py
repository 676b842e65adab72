"""retrain end to end on the tiny world: baseline, comparison, gates, registry, revert, rollback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import label_first_days
from sqlalchemy import select

from labelbench.db.models import ModelEvent, ModelRun
from labelbench.errors import ConflictError, InputError, ModelError, NotFoundError
from labelbench.services.batches import list_batches, revert_batch
from labelbench.services.labels import training_frame
from labelbench.services.predict import Predictor
from labelbench.services.registry import load_alias, promote, rollback
from labelbench.services.retrain import ensure_baseline, retrain
from labelbench.services.runs import run_table


@pytest.fixture
def ws(tiny_world_ws):  # type: ignore[no-untyped-def]
    tiny_world_ws.settings.training.jobs = 1
    tiny_world_ws.settings.training.n_boot = 200
    return tiny_world_ws


def test_first_retrain_promotes_the_baseline(ws) -> None:  # type: ignore[no-untyped-def]
    report = retrain(ws, actor="ml")
    data = report.to_dict()
    assert report.promoted and report.production is None and "baseline" in report.promotion_reason
    assert "regardless of the gates" in report.promotion_reason
    assert data["same_data_as_production"] is False
    assert data["production"] is None and data["candidate"]["loco_countries"] >= 6
    per = data["candidate"]["per_country"]["OM"]
    assert set(per) >= {"f1", "n", "positives", "ci_low", "ci_high", "small_n"}
    assert per["ci_low"] <= per["f1"] <= per["ci_high"]
    names = {g["name"]: g for g in data["gates"]}
    assert names["watch_list_improved"]["passed"] is None  # not applicable without production
    bundle_dir = report.bundle_dir
    for name in ("model.joblib", "manifest.json", "oof.parquet", "report.md", "metrics.json"):
        assert (bundle_dir / name).is_file(), name
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["pipeline_spec"]["pipeline"] == "base" and len(manifest["features"]) == 16
    assert manifest["sha256"] and manifest["versions"]["sklearn"]
    report_md = (bundle_dir / "report.md").read_text()
    assert "LOCO median F1" in report_md and "PROMOTED" in report_md
    runs = run_table(ws)
    assert runs[0]["alias"] == "production"
    predictor = Predictor.for_production(ws)
    assert predictor is not None and predictor.run_id == report.run_id


def test_second_retrain_compares_attributes_and_gates(ws) -> None:  # type: ignore[no-untyped-def]
    first = retrain(ws, actor="ml")
    batch = label_first_days(ws, "OM", 4)
    second = retrain(ws, actor="ml")
    data = second.to_dict()
    assert data["production_run_id"] == first.run_id and data["production"] is not None
    assert [b["batch_id"] for b in data["batches"]] == [batch]
    effect = data["batches"][0]
    assert effect["labels"] == 4 and effect["countries"] == ["OM"]
    assert effect["ci_low"] <= effect["delta_loco_median_f1"] <= effect["ci_high"]
    # Own country: within-country, with a verdict; transfer: LOCO median over the others.
    own = effect["own_countries"]["OM"]
    assert set(own) >= {"delta", "ci_low", "ci_high", "verdict"}
    assert own["verdict"] in ("helped", "no detectable change", "hurt")
    transfer = effect["transfer"]
    assert set(transfer) >= {"delta_loco_median_f1", "ci_low", "ci_high", "verdict"}
    within = data["within_country"]
    for side in ("candidate", "production"):
        om = within[side]["OM"]
        assert set(om) >= {"f1", "f1_ci", "pr_auc", "n", "positives", "evaluable"}
    assert within["candidate"]["OM"]["positives"] == within["production"]["OM"]["positives"]
    assert within["production_at_its_labels"]["OM"]["positives"] <= om["positives"]
    # Every pre-existing key is still there; gates come at 0.5 and (advisory) at serving.
    assert {"deltas", "gates", "batches", "candidate", "production"} <= set(data)
    assert any(g["advisory"] and g["name"].endswith("@serving") for g in data["gates"])
    assert "to promote anyway: labelbench models promote" in second.promotion_reason
    gates = {g["name"]: g for g in data["gates"]}
    assert gates["loco_median_f1"]["threshold"] == 0.85
    assert gates["watch_list_improved"]["passed"] is False  # the tiny world has 2 watch countries
    assert not second.promoted and second.promotion_reason.startswith("gates failed")
    with ws.transaction() as session:
        assert session.get(ModelRun, second.run_id).alias == "candidate"  # type: ignore[union-attr]
    # the candidate was trained with the new labels, production without them
    assert first.to_dict()["label_batches"] == [] and data["label_batches"] == [batch]


def test_promotion_needs_force_and_reason_and_rollback_restores(ws) -> None:  # type: ignore[no-untyped-def]
    first = retrain(ws, actor="ml")
    label_first_days(ws, "KW", 2)
    second = retrain(ws, actor="ml")
    with pytest.raises(ConflictError, match="--force"):
        promote(ws, second.run_id, actor="lead")
    with pytest.raises(InputError, match="reason"):
        promote(ws, second.run_id, actor="lead", force=True)
    assert promote(ws, second.run_id, actor="lead", force=True, reason="KW review") == first.run_id
    with ws.transaction() as session:
        event = session.scalars(select(ModelEvent).order_by(ModelEvent.id.desc())).first()
        assert event is not None and event.forced and event.reason == "KW review"
    assert rollback(ws, actor="lead") == (second.run_id, first.run_id)
    loaded = load_alias(ws, "production")
    assert loaded is not None and loaded.run_id == first.run_id


def test_tampered_bundle_is_refused(ws) -> None:  # type: ignore[no-untyped-def]
    report = retrain(ws, actor="ml")
    bundle = Path(report.bundle_dir) / "model.joblib"
    raw = bytearray(bundle.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bundle.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="sha256"):
        load_alias(ws, "production")


def test_batch_revert_withdraws_labels_from_the_next_retrain(ws) -> None:  # type: ignore[no-untyped-def]
    batch = label_first_days(ws, "OM", 3)
    with ws.transaction() as session:
        before = training_frame(session, countries=["OM"])
    assert (before["label_source"] == "human").sum() == 3
    assert revert_batch(ws, batch, reason="wrong country") == 3
    with ws.transaction() as session:
        after = training_frame(session, countries=["OM"])
    assert (after["label_source"] == "human").sum() == 0
    rows = {b["batch_id"]: b for b in list_batches(ws)}
    assert rows[batch]["status"] == "reverted" and rows[batch]["labels"] == 3
    report = retrain(ws, actor="ml")
    assert report.to_dict()["label_batches"] == []
    with pytest.raises(ConflictError):
        revert_batch(ws, batch)
    with pytest.raises(NotFoundError):
        revert_batch(ws, 999)


def test_ensure_baseline_trains_once(ws) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    predictor = ensure_baseline(ws, lambda done, total, stage: seen.append(stage))
    assert predictor is not None and seen
    again = ensure_baseline(ws)
    assert again is not None and again.run_id == predictor.run_id
    assert len(run_table(ws)) == 1


def test_retrain_on_identical_data_says_nothing_changed(ws) -> None:  # type: ignore[no-untyped-def]
    retrain(ws, actor="ml", max_attributed_batches=0)
    again = retrain(ws, actor="ml", max_attributed_batches=0)
    assert again.same_data_as_production and again.to_dict()["same_data_as_production"]
    assert "nothing changed" in (Path(again.bundle_dir) / "report.md").read_text()
