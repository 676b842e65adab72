"""`labelbench import labels`: labels made elsewhere become events of the label log.

Every imported row is one event (a decision, or an adjudication when the file says so) of one
closed labelling batch named after the file (``import:FILE``), so ``batches revert`` withdraws an
import like any session. Rows are attached only to country-days that already have a sample: a
day without one is a row problem (reported with its line), never an invented sample.

Re-importing is idempotent: a row whose event is already in the log (same sample, analyst,
event, verdict, note and citation, and the same time when the file gives one) is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelbench.db.base import utcnow
from labelbench.db.models import Label, LabelBatch, Sample
from labelbench.ingest.labels import IMPORTED_EVENTS
from labelbench.ingest.table import RowError

#: (country, day) -> (sample id, current evidence fingerprint).
SampleIndex = dict[tuple[str, dt.date], tuple[int, str]]
_STRATEGY_LENGTH = 40


@dataclass
class LabelWrite:
    """What a label import wrote."""

    inserted: int = 0
    unchanged: int = 0
    not_standing: int = 0
    batch_id: int | None = None


def sample_index(session: Session) -> SampleIndex:
    """Every sample's key, id and fingerprint (a few MB for 100k samples)."""
    rows = session.execute(select(Sample.country, Sample.day, Sample.id, Sample.fingerprint))
    return {(str(c), d): (int(i), str(fp)) for c, d, i, fp in rows}


def days_without_samples(frame: pd.DataFrame, index: SampleIndex) -> list[RowError]:
    """One problem per row whose country-day has no sample (labels never invent one)."""
    errors = []
    for country, day, line in zip(frame["country"], frame["day"], frame["line"], strict=True):
        if (country, day) not in index:
            errors.append(
                RowError(
                    int(line),
                    None,
                    f"{country} {day.isoformat()} has no sample yet (import its evidence or "
                    "features first; labels are never attached to an invented day)",
                )
            )
    return errors


def write_labels(
    session: Session,
    frames: Iterable[pd.DataFrame],
    index: SampleIndex,
    *,
    file_name: str,
    actor: str,
) -> tuple[LabelWrite, set[str]]:
    """Insert the standing rows that are not in the log yet, in one batch for the file."""
    result = LabelWrite()
    now = utcnow()
    wanted: list[dict[str, Any]] = []
    for frame in frames:
        standing = frame[frame["stands"].astype(bool)]
        result.not_standing += len(frame) - len(standing)
        for rec in standing.to_dict(orient="records"):
            sample_id, fingerprint = index[(rec["country"], rec["day"])]
            stamp = rec["created_at"]
            wanted.append(
                {
                    "sample_id": sample_id,
                    "country": rec["country"],
                    "verdict": rec["verdict"],
                    "event": rec["event"],
                    "analyst": rec["analyst"],
                    "created_at": None if pd.isna(stamp) else stamp.to_pydatetime(),
                    "note": _text(rec["note"]),
                    "citation_url": _text(rec["citation_url"]),
                    "evidence_fingerprint": _text(rec["evidence_fingerprint"]) or fingerprint,
                }
            )
    existing = _existing_events(session, {w["sample_id"] for w in wanted})
    new = []
    for w in wanted:
        exact = _key(w, with_time=True)
        loose = _key(w, with_time=False)
        if exact in existing or (w["created_at"] is None and loose in existing):
            result.unchanged += 1
            continue
        existing.add(exact)
        existing.add(loose)
        new.append(w)
    result.inserted = len(new)
    touched = {str(w["country"]) for w in new}
    if not new:
        return result, touched
    batch = LabelBatch(
        analyst=actor,
        started_at=now,
        closed_at=now,
        countries=sorted(touched),
        strategy=f"import:{file_name}"[:_STRATEGY_LENGTH],
        status="closed",
    )
    session.add(batch)
    session.flush()
    result.batch_id = int(batch.id)
    for w in new:
        session.add(
            Label(
                sample_id=w["sample_id"],
                verdict=w["verdict"],
                event=w["event"],
                analyst=w["analyst"],
                batch_id=batch.id,
                created_at=w["created_at"] or now,
                note=w["note"],
                citation_url=w["citation_url"],
                evidence_fingerprint=w["evidence_fingerprint"],
            )
        )
    session.flush()
    return result, touched


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _key(w: dict[str, Any], *, with_time: bool) -> tuple[Any, ...]:
    stamp = w["created_at"]
    when = stamp.astimezone(dt.UTC).replace(tzinfo=None) if with_time and stamp else None
    return (w["sample_id"], w["analyst"], w["event"], w["verdict"], w["note"] or None,
            w["citation_url"] or None, when)  # fmt: skip


def _existing_events(session: Session, sample_ids: set[int]) -> set[tuple[Any, ...]]:
    """Keys (with and without time) of the standing decisions and adjudications of samples."""
    keys: set[tuple[Any, ...]] = set()
    ids = sorted(sample_ids)
    for start in range(0, len(ids), 2_000):
        rows = session.scalars(
            select(Label).where(
                Label.sample_id.in_(ids[start : start + 2_000]), Label.event.in_(IMPORTED_EVENTS)
            )
        )
        for label in rows:
            w = {
                "sample_id": int(label.sample_id),
                "analyst": label.analyst,
                "event": label.event,
                "verdict": label.verdict,
                "note": label.note,
                "citation_url": label.citation_url,
                "created_at": label.created_at,
            }
            keys.add(_key(w, with_time=True))
            keys.add(_key(w, with_time=False))
    return keys
