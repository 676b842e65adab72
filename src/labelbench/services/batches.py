"""Labelling batches: listing and withdrawal (revert keeps the log, marks the batch)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labelbench.db.base import utcnow
from labelbench.db.models import Label, LabelBatch
from labelbench.errors import ConflictError, NotFoundError
from labelbench.services.workspace import Workspace


def list_batches(ws: Workspace) -> list[dict[str, Any]]:
    with ws.transaction(readonly=True) as session:
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
                "revert_reason": b.revert_reason,
            }
            for b in session.scalars(select(LabelBatch).order_by(LabelBatch.id))
        ]


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
