"""Claiming queue items with a lease, safely for several analysts at once.

One statement claims an item: ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING *``. On
PostgreSQL the sub-select takes ``FOR UPDATE SKIP LOCKED``, so concurrent analysts skip each
other's rows instead of queueing behind them; on SQLite the UPDATE holds the database write lock
while its sub-select runs, which makes the claim atomic there too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from labelbench.db.base import utcnow
from labelbench.db.models import QueueItem


def _claimable(analyst: str, now: dt.datetime) -> object:
    free = or_(
        QueueItem.status == "pending",
        and_(QueueItem.status == "claimed", QueueItem.lease_expires_at < now),
    )
    not_excluded = or_(QueueItem.exclude_analyst.is_(None), QueueItem.exclude_analyst != analyst)
    return and_(free, not_excluded)


#: The order items are served in: the newest queue build first, then its ranking.
SERVICE_ORDER = (QueueItem.build_id.desc(), QueueItem.rank, QueueItem.id)


def claim_next_item(
    session: Session,
    analyst: str,
    *,
    lease_seconds: int,
    countries: Sequence[str] | None = None,
    skip_items: Sequence[int] = (),
    now: dt.datetime | None = None,
) -> QueueItem | None:
    """Claim the best free item for ``analyst`` in one statement and return it (None if none).

    The analyst's own unexpired claims come back first (a restarted app resumes where it was);
    claiming one again renews its lease.
    """
    now = now or utcnow()
    lease = now + dt.timedelta(seconds=lease_seconds)
    own = and_(
        QueueItem.status == "claimed",
        QueueItem.claimed_by == analyst,
        QueueItem.lease_expires_at >= now,
    )
    eligible = or_(own, _claimable(analyst, now))  # type: ignore[arg-type]
    pick = select(QueueItem.id).where(eligible)
    if countries:
        pick = pick.where(QueueItem.country.in_(countries))
    if skip_items:
        pick = pick.where(QueueItem.id.not_in(skip_items))
    first = (
        pick.order_by(case((own, 0), else_=1), *SERVICE_ORDER)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return session.scalars(
        update(QueueItem)
        .where(QueueItem.id == first, eligible)
        .values(status="claimed", claimed_by=analyst, lease_expires_at=lease)
        .returning(QueueItem)
        .execution_options(synchronize_session=False)
    ).one_or_none()


def upcoming_samples(session: Session, countries: Sequence[str] | None, limit: int) -> list[int]:
    """Sample ids of the pending items a claim would serve next, best first (no lock taken)."""
    stmt = select(QueueItem.sample_id).where(QueueItem.status == "pending")
    if countries:
        stmt = stmt.where(QueueItem.country.in_(countries))
    return list(session.scalars(stmt.order_by(*SERVICE_ORDER).limit(limit)))


def renew(session: Session, item_id: int, analyst: str, *, lease_seconds: int) -> bool:
    """Extend the lease while the item is on screen; False if the claim was lost."""
    lease = utcnow() + dt.timedelta(seconds=lease_seconds)
    result = session.execute(
        update(QueueItem)
        .where(
            QueueItem.id == item_id,
            QueueItem.status == "claimed",
            QueueItem.claimed_by == analyst,
        )
        .values(lease_expires_at=lease)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, item_id: int, analyst: str) -> None:
    """Give an unfinished item back to the queue."""
    session.execute(
        update(QueueItem)
        .where(
            QueueItem.id == item_id,
            QueueItem.status == "claimed",
            QueueItem.claimed_by == analyst,
        )
        .values(status="pending", claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def release_stale(session: Session, now: dt.datetime | None = None) -> int:
    """Return every expired claim to the queue (run at app start); returns how many."""
    now = now or utcnow()
    result = session.execute(
        update(QueueItem)
        .where(QueueItem.status == "claimed", QueueItem.lease_expires_at < now)
        .values(status="pending", claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
