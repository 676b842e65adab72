"""What `queue show` lists: queued items in serving order, as the claim rules see them now.

A claim is a lease (:mod:`labelbench.services.claims`): once ``lease_expires_at`` has passed the
item is free for anyone, even if no one has released it yet, so it is listed as pending with
the expired claim named. Imports no pandas or scikit-learn: `queue show` is a read-only command
that must start fast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from labelbench.db.base import utcnow
from labelbench.db.models import QueueItem, Sample
from labelbench.services.workspace import Workspace


@dataclass(frozen=True)
class QueueRow:
    """One queue item with its sample's country and day."""

    item_id: int
    build_id: int
    rank: int
    country: str
    day: dt.date
    purpose: str
    status: str
    """pending | claimed | waiting | done; a claim whose lease has passed reads ``pending``."""
    claimed_by: str | None
    strategy: str
    scorer: str | None
    score: float
    expected_p: float | None
    reason: str
    expired_claim: str | None = None
    """Who held the lease that has run out (the item is free again)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def display_status(self) -> str:
        """``pending``, ``claimed (ana)``, ``pending (ana's claim expired)``, ``... 2nd``."""
        text = self.status
        if self.claimed_by:
            text += f" ({self.claimed_by})"
        elif self.expired_claim:
            text += f" ({self.expired_claim}'s claim expired)"
        return text + (" 2nd" if self.purpose == "second_opinion" else "")


def queue_rows(
    ws: Workspace, *, include_done: bool = False, now: dt.datetime | None = None
) -> list[QueueRow]:
    """Current queue items, newest build first, in rank order."""
    statuses = ("pending", "claimed", "waiting") + (("done",) if include_done else ())
    now = now or utcnow()
    with ws.transaction(readonly=True) as session:
        rows = session.execute(
            select(
                QueueItem.id,
                QueueItem.build_id,
                QueueItem.rank,
                QueueItem.country,
                Sample.day,
                QueueItem.purpose,
                QueueItem.status,
                QueueItem.claimed_by,
                QueueItem.lease_expires_at,
                QueueItem.strategy,
                QueueItem.scorer,
                QueueItem.score,
                QueueItem.expected_p,
                QueueItem.reason,
            )
            .join(Sample, Sample.id == QueueItem.sample_id)
            .where(QueueItem.status.in_(statuses))
            .order_by(QueueItem.build_id.desc(), QueueItem.rank, QueueItem.purpose)
        ).all()
    out = []
    for r in rows:
        expired = r.status == "claimed" and r.lease_expires_at is not None
        expired = expired and r.lease_expires_at < now
        out.append(
            QueueRow(
                item_id=r.id,
                build_id=r.build_id,
                rank=r.rank,
                country=r.country,
                day=r.day,
                purpose=r.purpose,
                status="pending" if expired else r.status,
                claimed_by=None if expired else r.claimed_by,
                strategy=r.strategy,
                scorer=r.scorer,
                score=r.score,
                expected_p=r.expected_p,
                reason=r.reason,
                expired_claim=r.claimed_by if expired else None,
            )
        )
    return out
