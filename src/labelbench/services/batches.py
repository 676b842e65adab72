"""Labelling batches: listing and withdrawal (revert keeps the log, marks the batch)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labelbench.db import labellog
from labelbench.db.base import utcnow
from labelbench.db.models import Label, LabelBatch, Sample
from labelbench.domain.labels import LabelEvent, OutcomeCounts, day_outcomes
from labelbench.errors import ConflictError, NotFoundError
from labelbench.services.workspace import Workspace


def list_batches(ws: Workspace) -> list[dict[str, Any]]:
    """Every batch with its decisions (``labels``, ``positives``: as made, undone or reverted
    ones included) and what its standing decisions found (new positives, confirmed and
    overturned incident days; zero for a reverted batch)."""
    with ws.transaction(readonly=True) as session:
        events = labellog.label_events(session)
        incident = dict(
            session.execute(
                select(Sample.id, Sample.incident_label).where(
                    Sample.id.in_(select(Label.sample_id))
                )
            ).all()
        )
        counts = dict(
            session.execute(
                select(Label.batch_id, func.count())
                .where(Label.event == "decision")
                .group_by(Label.batch_id)
            ).all()
        )
        positives = dict(
            session.execute(
                select(Label.batch_id, func.count())
                .where(Label.event == "decision", Label.verdict == "positive")
                .group_by(Label.batch_id)
            ).all()
        )
        return [
            {
                "batch_id": b.id,
                "analyst": b.analyst,
                "started_at": b.started_at.isoformat(),
                "closed_at": b.closed_at.isoformat() if b.closed_at else None,
                "status": b.status,
                "strategy": b.strategy,
                "countries": list(b.countries),
                "labels": int(counts.get(b.id, 0)),
                "positives": int(positives.get(b.id, 0)),
                **_found(events, incident, b.id),
                "revert_reason": b.revert_reason,
            }
            for b in session.scalars(select(LabelBatch).order_by(LabelBatch.id))
        ]


def _found(events: list[LabelEvent], incident: dict[int, int], batch_id: int) -> dict[str, int]:
    days = day_outcomes(events, incident, batch_id=batch_id)
    counts = OutcomeCounts.of(d.outcome for d in days.values())
    return {k: counts.to_dict()[k] for k in ("new_positives", "confirmed", "overturned")}


def revert_batch(ws: Workspace, batch_id: int, *, reason: str | None = None) -> int:
    """Mark a batch reverted; its label events stay in the log but stop counting."""
    with ws.transaction() as session:
        batch = session.get(LabelBatch, batch_id)
        if batch is None:
            raise NotFoundError(f"no labelling batch {batch_id} (see `labelbench batches list`)")
        if batch.status == "reverted":
            raise ConflictError(f"batch {batch_id} is already reverted")
        batch.status, batch.reverted_at, batch.revert_reason = "reverted", utcnow(), reason
        return int(
            session.scalar(
                select(func.count()).select_from(Label).where(Label.batch_id == batch_id)
            )
            or 0
        )
