"""`export labels` on every state of the label log, and `import labels` reading it back.

Every state (empty, decisions only, an undo, an adjudication, a reverted batch) is exported on
both backends; the export of the last state imports into a fresh database with the same
effective labels, re-imports change nothing, and a corrupted copy is refused whole.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import load_world, tiny_world
from sqlalchemy import func, select

from labelbench.config import Settings
from labelbench.db import queries
from labelbench.db.models import Label, LabelBatch, Sample
from labelbench.domain.labels import effective_labels
from labelbench.services.batches import revert_batch
from labelbench.services.export import LABEL_EXPORT_COLUMNS, export_labels
from labelbench.services.features import build_features
from labelbench.services.imports import ImportOptions, ImportRejectedError, import_file
from labelbench.services.review import adjudicate

T0 = dt.datetime(2026, 8, 1, 9, 0, tzinfo=dt.UTC)


def _samples(ws: Any, n: int) -> list[tuple[int, str, dt.date, str]]:
    with ws.transaction(readonly=True) as session:
        rows = session.execute(
            select(Sample.id, Sample.country, Sample.day, Sample.fingerprint)
            .order_by(Sample.id)
            .limit(n)
        ).all()
    return [(int(i), str(c), d, str(fp)) for i, c, d, fp in rows]


def _batch(ws: Any, analyst: str, events: list[tuple[int, str, str | None]], at: int) -> int:
    """One closed labelling batch of decisions (sample id, verdict, note); returns its id."""
    with ws.transaction() as session:
        batch = LabelBatch(analyst=analyst, countries=[], strategy="hybrid", status="closed")
        session.add(batch)
        session.flush()
        for k, (sample_id, verdict, note) in enumerate(events):
            sample = session.get(Sample, sample_id)
            assert sample is not None
            session.add(
                Label(
                    sample_id=sample_id, verdict=verdict, event="decision", analyst=analyst,
                    batch_id=batch.id, created_at=T0 + dt.timedelta(minutes=at + k), note=note,
                    evidence_fingerprint=sample.fingerprint,
                )
            )  # fmt: skip
        return int(batch.id)


def _undo(ws: Any, sample_id: int, analyst: str) -> None:
    with ws.transaction() as session:
        last = session.scalars(
            select(Label)
            .where(Label.sample_id == sample_id, Label.analyst == analyst)
            .order_by(Label.id.desc())
        ).first()
        assert last is not None
        session.add(
            Label(
                sample_id=sample_id, verdict=last.verdict, event="retraction", analyst=analyst,
                batch_id=last.batch_id, created_at=T0 + dt.timedelta(hours=5),
                evidence_fingerprint=last.evidence_fingerprint, retracts_id=last.id,
            )
        )  # fmt: skip


def _effective(ws: Any) -> dict[tuple[str, dt.date], str]:
    with ws.transaction(readonly=True) as session:
        keys = {
            int(i): (str(c), d)
            for i, c, d in session.execute(select(Sample.id, Sample.country, Sample.day))
        }
        events = queries.label_events(session)
    return {keys[sid]: label.verdict for sid, label in effective_labels(events).items()}


def _export(ws: Any, path: Path) -> pd.DataFrame:
    n = export_labels(ws, path)
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    assert len(frame) == n and tuple(frame.columns) == LABEL_EXPORT_COLUMNS
    return frame


def test_export_and_import_every_state_of_the_label_log(  # type: ignore[no-untyped-def]
    tiny_world_ws, tmp_path: Path
) -> None:
    ws = tiny_world_ws
    (a, *_), (b, *_), (c, *_), (d, *_) = _samples(ws, 4)
    for suffix in (".csv", ".parquet"):  # none: an empty log exports a header only
        assert _export(ws, tmp_path / f"empty{suffix}").empty

    _batch(ws, "ana", [(a, "positive", '=HYPERLINK("http://evil")'), (b, "negative", None)], 0)
    frame = _export(ws, tmp_path / "decisions.csv")  # the state that used to crash
    assert frame["adjudicated_at"].isna().all() and frame["stands"].all()
    assert frame.loc[frame["sample_id"] == a, "note"].item() == '\'=HYPERLINK("http://evil")'

    _undo(ws, b, "ana")
    frame = _export(ws, tmp_path / "undo.parquet")
    assert (~frame["stands"]).sum() == 2  # the undone decision and the retraction itself

    _batch(ws, "ben", [(a, "negative", "@SUM(1)")], 60)
    adjudicate(ws, a, "positive", lead="lead", note="-1+1")
    frame = _export(ws, tmp_path / "adjudicated.parquet")
    assert set(frame["adjudicated_verdict"].dropna()) == {"positive"}
    assert frame.loc[frame["event"] == "adjudication", "note"].item() == "-1+1"  # Parquet: raw

    reverted = _batch(ws, "cy", [(c, "positive", None), (d, "unsure", "+cmd")], 120)
    revert_batch(ws, reverted, reason="wrong country")
    _batch(ws, "cy", [(d, "skip", None)], 180)
    frame = _export(ws, tmp_path / "all.csv")
    assert not frame.loc[frame["session_id"] == reverted, "stands"].any()
    assert all(not str(v).startswith(("=", "+", "@")) for v in frame["note"].dropna())
    expected = _effective(ws)
    assert sorted(expected.values()) == ["positive", "skip"]  # a adjudicated, d re-labelled

    fresh = Settings(
        database_url=f"sqlite:///{tmp_path / 'fresh.db'}", models_dir=tmp_path / "fresh-models"
    )
    other = _fresh_world(fresh)
    try:
        options = ImportOptions(actor="importer")
        report = import_file(other, "labels", tmp_path / "all.csv", options)
        assert report.inserted == 4 and report.not_standing == 4 and report.label_batch
        assert _effective(other) == expected
        with other.transaction(readonly=True) as session:
            notes = set(session.scalars(select(Label.note).where(Label.note.is_not(None))))
            batch = session.get(LabelBatch, report.label_batch)
        assert '=HYPERLINK("http://evil")' in notes and "-1+1" in notes  # quotes undone
        assert batch is not None and batch.strategy == "import:all.csv"
        again = import_file(other, "labels", tmp_path / "all.csv", options)
        assert (again.inserted, again.unchanged, again.label_batch) == (0, 4, None)

        corrupt = tmp_path / "corrupt.csv"
        text = (tmp_path / "all.csv").read_text().splitlines()
        text[2] = text[2].replace(",negative,", ",maybe,").replace(",positive,", ",maybe,")
        corrupt.write_text("\n".join(text) + "\n")
        before = _count_labels(other)
        with pytest.raises(ImportRejectedError) as err:
            import_file(other, "labels", corrupt, options)
        assert "unknown verdict 'maybe'" in "\n".join(err.value.details)
        assert _count_labels(other) == before
    finally:
        other.close()


def _fresh_world(settings: Settings) -> Any:
    from labelbench.db import migrate
    from labelbench.db.engine import make_engine
    from labelbench.services.reference import sync_countries
    from labelbench.services.workspace import Workspace

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    ws = Workspace(settings, engine)
    with ws.transaction() as session:
        sync_countries(session, settings)
    load_world(ws, tiny_world())
    build_features(ws)
    return ws


def _count_labels(ws: Any) -> int:
    with ws.transaction(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(Label)) or 0)


def test_labels_on_days_without_samples_are_reported_not_invented(  # type: ignore[no-untyped-def]
    tiny_world_ws, tmp_path: Path
) -> None:
    ws = tiny_world_ws
    (_, country, day, _), *_ = _samples(ws, 1)
    path = tmp_path / "sheet.csv"
    path.write_text(
        "Country,Date,Label,Analyst,Timestamp,Notes,Citation,Reviewer comment\n"
        f"{country},{day.isoformat()},yes,dana,2026-08-02T10:00:00Z,seen,https://x.test/1,ok\n"
        f"{country},1999-01-01,0,dana,,,,\n"
        f"{country},{day.isoformat()},maybe,eve,,,,\n"
    )
    with pytest.raises(ImportRejectedError) as err:
        import_file(ws, "labels", path, ImportOptions(actor="lead"))
    details = "\n".join(err.value.details)
    assert "has no sample yet" in details and "unknown verdict 'maybe'" in details
    assert _count_labels(ws) == 0
    report = import_file(ws, "labels", path, ImportOptions(actor="lead", skip_bad_rows=True))
    assert report.inserted == 1 and report.rejected_rows == 2
    assert report.unknown_columns == ["Reviewer comment"]
    rejects = pd.read_csv(report.rejects_file or "")
    assert rejects["line"].tolist() == [3, 4]
    with ws.transaction(readonly=True) as session:
        label = session.scalars(select(Label)).one()
        assert (label.verdict, label.analyst, label.citation_url) == (
            "positive", "dana", "https://x.test/1",
        )  # fmt: skip
        assert label.created_at == dt.datetime(2026, 8, 2, 10, tzinfo=dt.UTC)
