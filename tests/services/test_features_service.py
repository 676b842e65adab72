"""`features build` through the database: incremental, idempotent, fingerprints flag re-review."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select, update

from labelbench.db import queries
from labelbench.db.models import Evidence, Sample
from labelbench.domain.constants import FEATURES
from labelbench.services.features import build_features
from labelbench.services.labelling import LabellingService
from labelbench.services.labels import training_frame


def test_rebuild_of_unchanged_data_writes_nothing(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    with tiny_world_ws.transaction() as session:
        before = queries.samples_frame(session)
    report = build_features(tiny_world_ws)
    assert report.inserted == report.updated == report.removed == 0
    assert report.unchanged == len(before) > 0
    with tiny_world_ws.transaction() as session:
        after = queries.samples_frame(session)
    assert before.equals(after)


def test_changed_evidence_gets_a_new_fingerprint_and_flags_labels(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    with ws.transaction() as session:
        sample = session.scalars(select(Sample).where(Sample.country == "OM").limit(1)).one()
        sid, day, old_fp = sample.id, sample.day, sample.fingerprint
    svc = LabellingService(ws, "ana", countries=["OM"])
    svc.start(build_if_empty=False)
    svc.decide(sid, "positive", fingerprint_seen=old_fp)
    with ws.transaction() as session:
        frame = training_frame(session, countries=["OM"])
        assert not frame.loc[frame["id"] == sid, "rereview"].item()
        ev = session.scalars(
            select(Evidence).where(Evidence.country == "OM", Evidence.day == day).limit(1)
        ).one()
        session.execute(
            update(Evidence).where(Evidence.id == ev.id).values(anomalous=not ev.anomalous)
        )
    report = build_features(ws)
    assert report.fingerprint_changed == 1 and report.updated >= 1
    with ws.transaction() as session:
        new = session.get(Sample, sid)
        assert new is not None and new.fingerprint != old_fp and new.day == day
        frame = training_frame(session, countries=["OM"])
    row = frame.loc[frame["id"] == sid].iloc[0]
    assert row["rereview"] and row["human_verdict"] == "positive" and row["label"] == 1.0


def test_training_labels_follow_human_verdicts(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    with ws.transaction() as session:
        rows = session.execute(
            select(Sample.id, Sample.fingerprint, Sample.incident_label)
            .where(Sample.country == "KW")
            .order_by(Sample.day)
            .limit(3)
        ).all()
    svc = LabellingService(ws, "ana", countries=["KW"])
    svc.start(build_if_empty=False)
    verdicts = ["positive", "negative", "unsure"]
    for (sid, fp, _), verdict in zip(rows, verdicts, strict=True):
        svc.decide(sid, verdict, fingerprint_seen=fp)
    with ws.transaction() as session:
        frame = training_frame(session, countries=["KW"]).set_index("id")
    assert frame.loc[rows[0][0], "label"] == 1.0
    assert frame.loc[rows[1][0], "label"] == 0.0
    assert frame.loc[rows[2][0], "label_source"] == "excluded"
    others = frame.drop(index=[r[0] for r in rows])
    assert (others["label"] == others["incident_label"]).all()
    assert dt.date(2026, 6, 1) <= frame["day"].min()


def test_scoped_rebuild_matches_a_full_rebuild(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """After changing one country's evidence, rebuilding only what it reaches = a full rebuild."""
    from labelbench.services.features import affected_scope

    ws = tiny_world_ws
    with ws.transaction() as session:
        ids = session.scalars(
            select(Evidence.id).where(Evidence.country == "OM").order_by(Evidence.id).limit(40)
        ).all()
        session.execute(update(Evidence).where(Evidence.id.in_(ids)).values(anomalous=True))
        neighbours = queries.neighbours(session)
    dependents, inputs = affected_scope(neighbours, {"OM"})
    assert "OM" in dependents and dependents <= inputs
    assert {c for c, nb in neighbours.items() if "OM" in nb} <= dependents
    scoped = build_features(ws, countries={"OM"})
    assert scoped.updated > 0 and 0 < scoped.countries <= len(dependents)
    with ws.transaction() as session:
        after_scoped = queries.samples_frame(session)
    full = build_features(ws)
    assert full.inserted == full.updated == full.removed == 0
    with ws.transaction() as session:
        assert queries.samples_frame(session).equals(after_scoped)


def test_aggregate_evidence_counts_measurements(workspace) -> None:  # type: ignore[no-untyped-def]
    """An OONI aggregate row stands for its measurements in anomaly_rate and the threshold."""
    ws = workspace
    day = dt.date(2026, 6, 3)
    stamp = dt.datetime(2026, 6, 3, tzinfo=dt.UTC)
    with ws.transaction() as session:
        session.add_all(
            [
                Evidence(
                    source="ooni", kind="web_connectivity", source_ref="agg-1", observed_at=stamp,
                    day=day, country="OM", anomalous=True, measurements=40,
                    anomalous_measurements=10,
                ),
                Evidence(
                    source="ioda", kind="bgp", source_ref="row-1", observed_at=stamp, day=day,
                    country="OM", anomalous=True,
                ),
            ]
        )  # fmt: skip
    report = build_features(ws)
    assert report.inserted == 1  # 41 measurements pass the 5-row threshold with only 2 rows
    with ws.transaction() as session:
        row = queries.samples_frame(session).iloc[0]
    assert row["measurement_count"] == 41 and row["evidence_count"] == 41
    assert row["anomaly_rate"] == 11 / 41


def test_a_build_in_small_evidence_batches_equals_one_in_memory(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """Reading evidence a few dozen rows at a time changes no feature, label or fingerprint."""
    from labelbench.services.features import plan_batches, rebuild

    ws = tiny_world_ws
    with ws.transaction() as session:
        counts = queries.evidence_day_counts(session)
        assert len(plan_batches(counts, 37)) > 10
        report = rebuild(session, ws.settings.min_evidence, batch_rows=37)
        assert report.inserted == report.updated == report.removed == 0
        assert report.unchanged == report.samples + report.candidates > report.samples > 0
        scoped = rebuild(session, ws.settings.min_evidence, countries={"OM"}, batch_rows=37)
        assert scoped.inserted == scoped.updated == scoped.removed == 0 < scoped.unchanged


def test_batches_hold_whole_days_and_respect_the_size() -> None:
    import pandas as pd

    from labelbench.services.features import plan_batches

    d = [dt.date(2024, 1, i) for i in range(1, 6)]
    counts = pd.DataFrame(
        {
            "country": ["KW", "KW", "KW", "OM", "OM"],
            "day": [d[0], d[1], d[2], d[0], d[4]],
            "rows": [4, 3, 50, 2, 2],
        }
    )
    batches = plan_batches(counts, 8)
    assert batches == [
        [("KW", d[0], d[1])],
        [("KW", d[2], d[2])],  # larger than a batch: alone, never split
        [("OM", d[0], d[4])],
    ]
    assert plan_batches(counts, 1000) == [[("KW", d[0], d[2]), ("OM", d[0], d[4])]]
    assert plan_batches(counts.iloc[:0], 8) == []


def test_candidate_days_are_built_but_train_only_once_labelled(tiny_world_ws) -> None:  # type: ignore[no-untyped-def]
    """Days under the sample rule get features too; a human label makes one a training row."""
    from labelbench.services.status import status

    ws = tiny_world_ws
    with ws.transaction() as session:
        stored = queries.samples_frame(session)
        counts = queries.evidence_day_counts(session)
    assert len(stored) == len(counts)  # every country-day with evidence (min 1 row)
    small = stored["evidence_count"] < ws.settings.min_evidence
    assert small.any() and (stored["candidate_only"] == small).all()
    assert stored.loc[small, list(FEATURES)].notna().all().all()
    assert (stored.loc[small, "fingerprint"].str.len() == 32).all()

    cand = stored[small & (stored["country"] == "OM")].iloc[0]
    with ws.transaction() as session:
        before = training_frame(session)
        everything = training_frame(session, include_candidates=True)
    assert not before["candidate_only"].any() and cand["id"] not in set(before["id"])
    row = everything.set_index("id").loc[cand["id"]]
    assert row["label_source"] == "candidate" and pd.isna(row["label"])

    svc = LabellingService(ws, "ana", countries=["OM"])
    svc.start(build_if_empty=False)
    svc.decide(int(cand["id"]), "positive", fingerprint_seen=str(cand["fingerprint"]))
    with ws.transaction() as session:
        after = training_frame(session).set_index("id")
        watermarked = training_frame(session, label_watermark=0).set_index("id")
    assert (
        after.loc[cand["id"], "label"] == 1.0 and after.loc[cand["id"], "label_source"] == "human"
    )
    # Views of an older label set keep the same rows (retrain aligns them), unlabelled there.
    assert list(watermarked.index) == list(after.index)
    assert pd.isna(watermarked.loc[cand["id"], "label"])

    result = status(ws)
    om = next(c for c in result["per_country"] if c["country"] == "OM")
    assert om["candidates"] == int((stored["country"] == "OM").sum()) > om["samples"]
    assert result["samples"] == int((~small).sum())
    assert result["candidate_days"] == int(small.sum())
