"""Queue building over the database: targets, pool, re-review, quotas, reasons, determinism."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from labelbench.db.models import Evidence, QueueBuild, QueueItem, Sample
from labelbench.errors import InputError
from labelbench.services.features import build_features
from labelbench.services.labelling import LabellingService
from labelbench.services.queue import build_queue, candidate_pool, queue_frame, target_countries


def test_targets_default_to_the_priority_countries(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    with ws.transaction() as session:
        auto = target_countries(session, ws.settings)
        assert set(auto) <= set(ws.settings.priority_countries) and {"OM", "KW"} <= set(auto)
        wide = target_countries(session, ws.settings, ["all-sparse"])
        assert set(wide) > set(auto)
        assert target_countries(session, ws.settings, ["om", "kw"]) == ["KW", "OM"]
        with pytest.raises(InputError, match="unknown country"):
            target_countries(session, ws.settings, ["XX"])
        with pytest.raises(InputError, match="no samples"):
            target_countries(session, ws.settings, ["FR"])


def test_build_records_why_each_item_was_picked_with_quotas(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    report = build_queue(tiny_world_ws, actor="lead", countries=["OM", "KW", "AE"], size=9)
    assert report.queued == 9 and report.per_country == {"AE": 3, "KW": 3, "OM": 3}
    frame = queue_frame(tiny_world_ws)
    assert (frame["purpose"] == "second_opinion").sum() == report.second_opinions
    frame = frame[frame["purpose"] == "primary"]
    assert len(frame) == 9 and frame["reason"].str.len().min() > 10
    assert sorted(frame["rank"]) == list(range(1, 10))
    with tiny_world_ws.transaction() as session:
        build = session.get(QueueBuild, report.build_id)
        assert build is not None and set(build.params["pool"]) == {"AE", "KW", "OM"}


def test_same_seed_same_queue_and_rebuild_withdraws(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    ws.settings.queue.double_label_share = 0.0
    first = build_queue(ws, actor="lead", countries=["OM"], size=5, strategy="random", seed=3)
    a = queue_frame(ws)["day"].tolist()
    second = build_queue(ws, actor="lead", countries=["OM"], size=5, strategy="random", seed=3)
    assert second.withdrawn == 5
    b = queue_frame(ws)["day"].tolist()
    assert a == b and first.build_id != second.build_id
    build_queue(ws, actor="lead", countries=["OM"], size=5, strategy="random", seed=4)
    assert queue_frame(ws)["day"].tolist() != a


def test_labelled_days_leave_the_pool_and_changed_evidence_brings_them_back(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    with ws.transaction() as session:
        sample = session.scalars(select(Sample).where(Sample.country == "OM").limit(1)).one()
        sid, day, fp = sample.id, sample.day, sample.fingerprint
    svc = LabellingService(ws, "ana", countries=["OM"])
    svc.start(build_if_empty=False)
    svc.decide(sid, "negative", fingerprint_seen=fp)
    with ws.transaction() as session:
        assert sid not in set(candidate_pool(session, ["OM"])["sample_id"])
        session.execute(
            update(Evidence)
            .where(Evidence.country == "OM", Evidence.day == day)
            .values(signal_value=Evidence.signal_value + 1)
        )
    build_features(ws)
    with ws.transaction() as session:
        pool = candidate_pool(session, ["OM"])
    row = pool[pool["sample_id"] == sid]
    assert len(row) == 1 and bool(row["rereview"].item())
    report = build_queue(ws, actor="lead", countries=["OM"], size=3)
    with ws.transaction() as session:
        first = session.scalars(
            select(QueueItem).where(QueueItem.build_id == report.build_id, QueueItem.rank == 1)
        ).one()
    assert first.sample_id == sid  # re-review comes first


def test_unknown_strategy_is_an_input_error(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="unknown strategy"):
        build_queue(tiny_world_ws, actor="lead", strategy="bogus")


def test_stable_predictions_move_a_country_quota_elsewhere(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """Two production models that agree on OM's pool: OM is exhausted, its quota moves on."""
    from labelbench.services.registry import promote
    from labelbench.services.retrain import retrain

    ws = tiny_world_ws
    ws.settings.training.jobs = 1
    ws.settings.training.n_boot = 100
    ws.settings.queue.double_label_share = 0.0
    svc = LabellingService(ws, "ana", countries=["OM"])
    svc.start(build_if_empty=False)
    with ws.transaction() as session:
        rows = session.execute(
            select(Sample.id, Sample.fingerprint).where(Sample.country == "OM").limit(6)
        ).all()
    for sid, fp in rows:
        svc.decide(sid, "negative", fingerprint_seen=fp)
    retrain(ws, actor="ml", max_attributed_batches=0)
    second = retrain(ws, actor="ml", max_attributed_batches=0)  # same labels: same predictions
    if not second.promoted:
        promote(ws, second.run_id, actor="lead", force=True, reason="test")
    report = build_queue(ws, actor="lead", countries=["OM", "KW"], size=6)
    assert "OM" in report.exhausted and "stable" in report.exhausted["OM"]
    assert report.per_country == {"KW": 6}
