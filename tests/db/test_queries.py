"""Bulk inserts: the fast paths store exactly what a plain SQLAlchemy ``insert()`` stores."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select, text

from labelbench.db import queries
from labelbench.db.models import Evidence, Incident
from labelbench.domain.constants import FEATURES


def _evidence(source: str) -> pd.DataFrame:
    observed = pd.to_datetime(
        ["2024-03-01 00:00:00", "2024-03-01 23:59:59.123456", "2024-02-29 12:30:00.5"],
        format="ISO8601",
    ).tz_localize("Asia/Muscat")
    return pd.DataFrame(
        {
            "source": source,
            "kind": "web",
            "source_ref": [f"{source}-{i}" for i in range(3)],
            "source_url": ["https://example.org/a", None, np.nan],
            "observed_at": observed,
            "day": [d.date() for d in observed.tz_convert("UTC")],
            "country": ["OM", "LY", "YE"],
            "asn": [None, "AS1", None],
            "signal_type": None,
            "signal_value": [0.5, np.nan, 2.0],
            "signal_baseline": np.nan,
            "signal_level": None,
            "domain": ["a.org", None, "b.org"],
            "blocking_method": None,
            "confidence": [0.9, 0.1, np.nan],
            "anomalous": [True, False, True],
            "measurements": pd.array([None, 4, 10], dtype="Int64"),
            "anomalous_measurements": pd.array([None, 1, 0], dtype="Int64"),
        }
    )


def _stored(session, source: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    columns = [c for c in Evidence.__table__.c if c.name not in ("id", "source", "source_ref")]
    rows = session.execute(select(*columns).where(Evidence.source == source).order_by(Evidence.id))
    return [dict(r._mapping) for r in rows]


def test_insert_frame_stores_what_insert_stores(workspace) -> None:  # type: ignore[no-untyped-def]
    with workspace.transaction() as session:
        assert queries.insert_frame(session, Evidence.__table__, _evidence("ooni")) == 3
        slow = _evidence("ioda")
        records = slow.astype(object).where(slow.notna(), None).to_dict(orient="records")
        session.execute(insert(Evidence.__table__), records)
    with workspace.transaction(readonly=True) as session:
        fast_rows, slow_rows = _stored(session, "ooni"), _stored(session, "ioda")
        assert fast_rows == slow_rows
        assert fast_rows[0]["observed_at"] == dt.datetime(2024, 2, 29, 20, 0, tzinfo=dt.UTC)
        assert fast_rows[1]["measurements"] == 4 and fast_rows[0]["measurements"] is None
        assert fast_rows[1]["source_url"] is None and fast_rows[2]["confidence"] is None
        if workspace.engine.dialect.name == "sqlite":
            raw = session.execute(
                text("SELECT source, observed_at, day, anomalous FROM evidence ORDER BY source, id")
            ).all()
            by_source = {s: [r[1:] for r in raw if r[0] == s] for s in ("ooni", "ioda")}
            assert by_source["ooni"] == by_source["ioda"]


def test_insert_frame_refuses_naive_timestamps_and_writes_nothing(workspace) -> None:  # type: ignore[no-untyped-def]
    frame = _evidence("ooni").assign(observed_at=lambda f: f["observed_at"].dt.tz_localize(None))
    with pytest.raises(Exception, match="naive datetime refused"), workspace.transaction() as s:
        queries.insert_frame(s, Evidence.__table__, frame)
    with workspace.transaction(readonly=True) as session:
        assert session.scalar(select(Evidence.id).limit(1)) is None


def test_insert_frame_dates_and_booleans(workspace) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        {
            "country": ["OM", "KW"],
            "first_seen": [dt.date(2021, 1, 31), dt.date(2022, 2, 1)],
            "last_seen": pd.to_datetime(["2021-02-02", "2022-02-01"]),
            "incident_type": ["censorship", "mixed"],
            "source": [None, "ooni"],
            "citation_url": [None, None],
            "open_ended": [True, False],
            "import_key": ["k1", None],
        }
    )
    with workspace.transaction() as session:
        queries.insert_frame(session, Incident.__table__, frame)
    with workspace.transaction(readonly=True) as session:
        rows = session.execute(
            select(Incident.first_seen, Incident.last_seen, Incident.open_ended).order_by(
                Incident.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (dt.date(2021, 1, 31), dt.date(2021, 2, 2), True),
        (dt.date(2022, 2, 1), dt.date(2022, 2, 1), False),
    ]


def test_label_events_read_back_aware_utc_timestamps_on_both_backends(workspace) -> None:  # type: ignore[no-untyped-def]
    """The log is read through the driver's own rows (fast path): timestamps must still come
    back exactly as written, timezone-aware UTC, in (created_at, id) order."""
    from labelbench.db.models import Label, LabelBatch, Sample

    muscat = dt.timezone(dt.timedelta(hours=4))
    written = [
        dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=muscat),
        dt.datetime(2026, 3, 1, 7, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 2, 28, 23, 0, tzinfo=dt.UTC),
    ]
    with workspace.transaction() as session:
        sample = Sample(
            country="OM",
            day=dt.date(2026, 3, 1),
            evidence_count=5,
            fingerprint="f",
            incident_label=0,
            **dict.fromkeys(FEATURES, 0.0),
        )
        session.add(sample)
        batch = LabelBatch(analyst="a", countries=["OM"], strategy="hybrid", status="reverted")
        session.add(batch)
        session.flush()
        for stamp in written:
            session.add(
                Label(
                    sample_id=sample.id,
                    verdict="positive",
                    event="decision",
                    analyst="a",
                    batch_id=batch.id,
                    evidence_fingerprint="f",
                    created_at=stamp,
                )
            )
    with workspace.transaction(readonly=True) as session:
        events = queries.label_events(session)
    assert [e.created_at for e in events] == sorted(w.astimezone(dt.UTC) for w in written)
    assert all(e.created_at.tzinfo is dt.UTC for e in events)
    assert all(e.reverted for e in events)
