"""The labelling session: claims, decisions, undo, resume, second opinions, adjudication."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from labelbench.db.models import Label, LabelBatch, QueueItem, Sample
from labelbench.domain.constants import FEATURES
from labelbench.services.claims import claim_next_item, release_stale
from labelbench.services.labelling import LabellingService
from labelbench.services.queue import build_queue
from labelbench.services.review import adjudicate, disagreements


def test_decide_commits_with_fingerprint_and_serves_next(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM", "KW"])
    info = svc.start()
    assert info.queue_built and not info.resumed
    first = svc.next_item()
    assert first is not None and first.item is not None
    assert len(first.features) == 16 and len(first.timeline) == 29
    assert sum(first.source_counts.values()) == len(first.evidence)
    label_id = svc.decide(
        first.sample_id, "positive", fingerprint_seen=first.fingerprint, item_id=first.item.item_id
    )
    with tiny_world_ws.transaction() as session:
        label = session.get(Label, label_id)
        item = session.get(QueueItem, first.item.item_id)
    assert label is not None and label.evidence_fingerprint == first.fingerprint
    assert item is not None and item.status == "done" and item.label_id == label_id
    second = svc.next_item()
    assert second is not None and second.sample_id != first.sample_id
    progress = svc.progress()
    assert progress.decisions == 1
    assert sum(c.session_positives for c in progress.countries) == 1


def test_undo_retracts_and_reclaims(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    svc.start()
    view = svc.next_item()
    assert view is not None and view.item is not None
    svc.decide(
        view.sample_id, "negative", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
    )
    assert svc.undo() == view.sample_id
    with tiny_world_ws.transaction() as session:
        events = session.scalars(select(Label.event).where(Label.sample_id == view.sample_id)).all()
        item = session.get(QueueItem, view.item.item_id)
    assert sorted(events) == ["decision", "retraction"]
    assert item is not None and item.status == "claimed" and item.claimed_by == "ana"
    again = svc.next_item()
    assert again is not None and again.sample_id == view.sample_id  # own claim comes back first
    assert again.current_verdict is None
    assert svc.undo() is None  # nothing standing left to undo


def test_resume_reuses_open_batch_and_returns_claimed_item(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    info = svc.start()
    shown = svc.next_item()
    assert shown is not None
    # the process dies here; a new session for the same analyst resumes
    again = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    info2 = again.start()
    assert info2.resumed and info2.batch_id == info.batch_id and not info2.queue_built
    resumed = again.next_item()
    assert resumed is not None and resumed.sample_id == shown.sample_id


def test_expired_leases_are_released(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    svc.start()
    view = svc.next_item()
    assert view is not None and view.item is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with tiny_world_ws.transaction() as session:
        session.execute(
            update(QueueItem).where(QueueItem.id == view.item.item_id).values(lease_expires_at=past)
        )
        assert release_stale(session) == 1
        item = session.get(QueueItem, view.item.item_id)
        assert item is not None and item.status == "pending" and item.claimed_by is None


def test_close_releases_claims_and_closes_batch(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    svc.start()
    assert svc.next_item() is not None
    svc.close()
    with tiny_world_ws.transaction() as session:
        batch = session.get(LabelBatch, svc.batch_id)
        claimed = session.scalar(
            select(func.count()).select_from(QueueItem).where(QueueItem.status == "claimed")
        )
    assert batch is not None and batch.status == "closed" and batch.closed_at is not None
    assert claimed == 0


def test_second_opinion_goes_to_another_analyst_and_disagreement_is_adjudicated(
    tiny_world_ws,  # type: ignore[no-untyped-def]
) -> None:
    ws = tiny_world_ws
    ws.settings.queue.double_label_share = 1.0
    build_queue(ws, actor="lead", countries=["OM"], size=3)
    ana = LabellingService(ws, "ana", countries=["OM"])
    ana.start(build_if_empty=False)
    seen_by_ana = []
    while (view := ana.next_item()) is not None:
        assert view.item is not None and view.item.purpose == "primary"
        seen_by_ana.append(view.sample_id)
        ana.decide(
            view.sample_id, "positive", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
        )
    bob = LabellingService(ws, "bob", countries=["OM"])
    bob.start(build_if_empty=False)
    seen_by_bob = []
    while (view := bob.next_item()) is not None:
        assert view.item is not None and view.item.purpose == "second_opinion"
        seen_by_bob.append(view.sample_id)
        bob.decide(
            view.sample_id, "negative", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
        )
    assert sorted(seen_by_bob) == sorted(seen_by_ana) and len(seen_by_ana) == 3
    disputes = disagreements(ws, ["OM"])
    assert len(disputes) == 3 and disputes[0].verdicts == {"ana": "positive", "bob": "negative"}
    adjudicate(ws, disputes[0].sample_id, "positive", lead="lead", note="checked OONI")
    assert len(disagreements(ws, ["OM"])) == 2


def test_two_analysts_never_claim_the_same_item(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """Concurrent claims (threads, separate connections) on both backends."""
    ws = tiny_world_ws
    build_queue(ws, actor="lead", countries=["OM", "KW", "AE", "SA"], size=40)
    claimed: dict[str, list[int]] = {"ana": [], "bob": []}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(analyst: str) -> None:
        try:
            barrier.wait()
            while True:
                with ws.transaction() as session:
                    item = claim_next_item(
                        session, analyst, lease_seconds=300, skip_items=claimed[analyst]
                    )
                if item is None:
                    return
                claimed[analyst].append(item.id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(a,)) for a in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    ana, bob = set(claimed["ana"]), set(claimed["bob"])
    assert not ana & bob
    with ws.transaction() as session:
        pending = session.scalar(
            select(func.count()).select_from(QueueItem).where(QueueItem.status == "pending")
        )
    assert pending == 0 and len(ana | bob) > 10


def test_retrying_a_committed_decision_does_not_duplicate_it(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """The app retries after a lost connection; a decision that did commit is not logged twice."""
    svc = LabellingService(tiny_world_ws, "ana", countries=["OM"])
    svc.start()
    view = svc.next_item()
    assert view is not None and view.item is not None
    kwargs = {"fingerprint_seen": view.fingerprint, "item_id": view.item.item_id}
    first = svc.decide(view.sample_id, "positive", **kwargs)  # type: ignore[arg-type]
    again = svc.decide(view.sample_id, "positive", **kwargs)  # type: ignore[arg-type]
    assert again == first
    with tiny_world_ws.transaction() as session:
        count = session.scalar(
            select(func.count()).select_from(Label).where(Label.sample_id == view.sample_id)
        )
    assert count == 1


def test_second_opinions_are_served_blind(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    ws.settings.queue.double_label_share = 1.0  # every primary gets a second opinion
    ana = LabellingService(ws, "ana", countries=["OM"])
    ana.start()
    first = ana.next_item()
    assert first is not None and first.item is not None and not first.blind
    ana.decide(
        first.sample_id,
        "positive",
        fingerprint_seen=first.fingerprint,
        item_id=first.item.item_id,
        note="ana's reasoning",
    )
    bo = LabellingService(ws, "bo", countries=["OM"])
    bo.start(build_if_empty=False)
    seen = []
    while (view := bo.next_item()) is not None and view.sample_id != first.sample_id:
        seen.append(view.sample_id)
        assert view.item is not None
        bo.decide(
            view.sample_id, "skip", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
        )
    assert view is not None and view.item is not None and view.item.purpose == "second_opinion"
    assert view.blind and view.labels == [] and view.current_verdict is None
    assert all(p is None for p in view.probabilities.values())
    assert view.item.expected_p is None and "ana" not in view.item.reason
    assert all(point.label is None for point in view.timeline)
    assert bo.view_sample(first.sample_id).blind  # still blind while it is bo's open item
    bo.decide(
        view.sample_id, "unsure", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
    )
    after = bo.view_sample(first.sample_id)
    assert not after.blind and {lab.analyst for lab in after.labels} == {"ana", "bo"}
    assert after.current_verdict == "disputed"  # a doubt goes to the lead, it erases nothing
    assert [d.sample_id for d in disagreements(ws)] == [first.sample_id]


def test_progress_counts_new_positives_and_follows_other_analysts(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    ws.settings.queue.double_label_share = 0.0
    ana = LabellingService(ws, "ana", countries=["OM"])
    bo = LabellingService(ws, "bo", countries=["OM"])
    ana.start()
    bo.start(build_if_empty=False)
    expected = {"new_positive": 0, "confirmed": 0}
    for svc in (ana, bo, ana, bo):
        view = svc.next_item()
        assert view is not None and view.item is not None
        svc.decide(
            view.sample_id, "positive", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
        )
        expected["confirmed" if view.incident_label else "new_positive"] += 1
        for who in (ana, bo):  # each session's tally sees both analysts' decisions
            om = who.progress().countries[0]
            assert (om.new_positives, om.confirmed) == (
                expected["new_positive"],
                expected["confirmed"],
            )
    assert ana.undo() is not None
    om = bo.progress().countries[0]
    assert om.new_positives + om.confirmed == 3  # a retraction reaches the other analyst too


def test_progress_sees_an_event_that_commits_after_larger_ids(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """Label ids are handed out at insert, not commit: the tally must not skip a late commit."""
    ws = tiny_world_ws
    ana = LabellingService(ws, "ana", countries=["OM"])
    ana.start()
    with ws.transaction(readonly=True) as session:
        fresh = list(
            session.scalars(
                select(Sample).where(
                    Sample.country == "OM",
                    Sample.incident_label == 0,
                    Sample.candidate_only.is_(False),
                )
            )
        )[:2]
    assert len(fresh) == 2

    def write(sample: Sample, label_id: int) -> None:
        with ws.transaction() as session:
            batch = LabelBatch(analyst="bo", countries=["OM"], strategy="hybrid")
            session.add(batch)
            session.flush()
            session.add(
                Label(
                    id=label_id,
                    sample_id=sample.id,
                    verdict="positive",
                    event="decision",
                    analyst="bo",
                    batch_id=batch.id,
                    evidence_fingerprint=sample.fingerprint,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )

    write(fresh[0], 5000)  # committed first, larger id
    assert ana.progress().countries[0].new_positives == 1
    write(fresh[1], 4990)  # its id was taken earlier; its transaction commits later
    assert ana.progress().countries[0].new_positives == 2


def test_served_probabilities_are_the_models_and_upcoming_items_share_a_call(
    tiny_world_ws, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from labelbench.services.predict import Predictor
    from labelbench.services.retrain import retrain

    ws = tiny_world_ws
    ws.settings.training.jobs, ws.settings.training.n_boot = 1, 50
    ws.settings.queue.double_label_share = 0.0
    assert retrain(ws, actor="ml").promoted
    svc = LabellingService(ws, "ana")
    svc.start()
    calls: list[int] = []
    real = Predictor.predict_display

    def counted(self: Predictor, rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        return real(self, rows)

    monkeypatch.setattr(Predictor, "predict_display", counted)
    reference = Predictor.for_production(ws)
    assert reference is not None
    served = 0
    view = svc.next_item()
    while view is not None and view.item is not None and served < 6:
        with ws.transaction(readonly=True) as session:
            sample = session.get(Sample, view.sample_id)
            row = pd.DataFrame([{f: float(getattr(sample, f)) for f in FEATURES}])
            row["country"], row["sample_id"] = sample.country, sample.id
        expected, threshold = real(reference, row)[0]
        assert view.probabilities == expected and view.threshold == threshold
        svc.decide(
            view.sample_id, "negative", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
        )
        served += 1
        view = svc.next_item()
    assert served >= 3
    assert len(calls) < served and max(calls) > 1  # upcoming items were predicted together


def test_typical_values_are_the_countrys_recent_medians(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    from labelbench.db import queries
    from labelbench.services.item_view import NORM_DAYS

    svc = LabellingService(tiny_world_ws, "ana")
    svc.start()
    view = svc.next_item()
    assert view is not None
    with tiny_world_ws.transaction(readonly=True) as session:
        days = queries.samples_frame(session, [view.country])
    recent = days[days["day"] > days["day"].max() - dt.timedelta(days=NORM_DAYS)]
    assert len(recent) >= 4
    for row in view.features:
        assert row.typical == pytest.approx(float(recent[row.name].median()))
