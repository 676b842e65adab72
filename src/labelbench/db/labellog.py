"""Label-log reads that import no pandas: the read-only commands (``status``) start fast on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from labelbench.db.base import as_utc
from labelbench.db.models import Label, LabelBatch, Sample
from labelbench.domain.labels import LabelEvent


def label_events(
    session: Session,
    sample_ids: Sequence[int] | None = None,
    *,
    batch_id: int | None = None,
    countries: Sequence[str] | None = None,
    after_id: int | None = None,
    ordered: bool = True,
) -> list[LabelEvent]:
    """Label-log rows, with the reverted flag of their batch, for the effective-label derivation.

    The filters keep hot paths on indexes: one batch's events, the events of a few countries
    (a join, not a list of sample ids), or only events newer than ``after_id``. The derivation
    orders each day's events itself, so a caller that only derives may skip the sort
    (``ordered=False``: a third of the query's time for the whole log).
    """
    stmt = _events_select(ordered=ordered)
    if sample_ids is not None:
        stmt = stmt.where(Label.sample_id.in_(sample_ids))
    if countries is not None:
        stmt = stmt.join(Sample, Sample.id == Label.sample_id).where(
            Sample.country.in_(list(countries))
        )
    return [_event(r) for r in _rows(session, _filtered(stmt, batch_id, after_id))]


@dataclass(frozen=True)
class PlacedEvent:
    """A label event with its day's country and incident label (what outcome counts need)."""

    event: LabelEvent
    country: str
    incident_label: int


def placed_label_events(
    session: Session,
    *,
    countries: Sequence[str] | None = None,
    batch_id: int | None = None,
    after_id: int | None = None,
) -> list[PlacedEvent]:
    """:func:`label_events` joined to their samples in the same statement (one round trip)."""
    stmt = _events_select(Sample.country, Sample.incident_label).join(
        Sample, Sample.id == Label.sample_id
    )
    if countries is not None:
        stmt = stmt.where(Sample.country.in_(list(countries)))
    return [
        PlacedEvent(_event(r), str(r[10]), int(r[11]))
        for r in _rows(session, _filtered(stmt, batch_id, after_id))
    ]


def _events_select(*extra: Any, ordered: bool = True) -> Select[*tuple[Any, ...]]:
    stmt = select(
        Label.id,
        Label.sample_id,
        Label.verdict,
        Label.event,
        Label.analyst,
        Label.created_at,
        Label.evidence_fingerprint,
        Label.retracts_id,
        LabelBatch.status,
        Label.batch_id,
        *extra,
    ).outerjoin(LabelBatch, LabelBatch.id == Label.batch_id)
    return stmt.order_by(Label.created_at, Label.id) if ordered else stmt


def _filtered(
    stmt: Select[*tuple[Any, ...]], batch_id: int | None, after_id: int | None
) -> Select[*tuple[Any, ...]]:
    if batch_id is not None:
        stmt = stmt.where(Label.batch_id == batch_id)
    if after_id is not None:
        stmt = stmt.where(Label.id > after_id)
    return stmt


def _rows(session: Session, stmt: Select[*tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
    """The driver's own rows: `status` reads the whole log, and building 50,000 result rows
    with their type processing cost twice the query itself. :func:`_event` normalises
    ``created_at`` (column 5) as the column type does elsewhere."""
    result = session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _utc(value: str | dt.datetime) -> dt.datetime:
    """A driver's timestamp as :class:`~labelbench.db.base.UTCDateTime` returns it (SQLite
    gives text, psycopg a datetime)."""
    if isinstance(value, str):  # naive text gets its UTC offset appended: 8x faster to parse
        naive = value[-6:-5] not in ("+", "-") and not value.endswith("Z")
        value = dt.datetime.fromisoformat(value + "+00:00" if naive else value)
    return as_utc(value)


def _event(r: tuple[Any, ...]) -> LabelEvent:
    # Positional (the column order of _events_select): attribute lookups by name cost more
    # than the tuple itself when a report reads the whole log.
    return LabelEvent(
        r[0], r[1], r[2], r[3], r[4], _utc(r[5]), r[6], r[7], r[8] == "reverted", r[9]
    )


def country_counts(session: Session) -> list[tuple[str, int, int, int, int]]:
    """(country, samples, incident positives, label-log events but undos, candidate days) per
    country with samples, in country order.

    ``samples`` and ``incident_positives`` follow the production sample rule (candidate-only
    days excluded); ``candidates`` counts every stored country-day, samples included.
    """
    is_sample = case((Sample.candidate_only, 0), else_=1)
    samples = (
        select(
            Sample.country,
            func.sum(is_sample).label("samples"),
            func.coalesce(func.sum(Sample.incident_label * is_sample), 0).label(
                "incident_positives"
            ),
            func.count().label("candidates"),
        )
        .group_by(Sample.country)
        .having(func.sum(is_sample) > 0)
        .subquery()
    )
    labels = (
        select(Sample.country, func.count(Label.id).label("human_labels"))
        .join(Label, Label.sample_id == Sample.id)
        .where(Label.event != "retraction")
        .group_by(Sample.country)
        .subquery()
    )
    stmt = (
        select(
            samples.c.country,
            samples.c.samples,
            samples.c.incident_positives,
            func.coalesce(labels.c.human_labels, 0),
            samples.c.candidates,
        )
        .outerjoin(labels, labels.c.country == samples.c.country)
        .order_by(samples.c.country)
    )
    return [(str(c), int(n), int(k), int(h), int(m)) for c, n, k, h, m in session.execute(stmt)]
