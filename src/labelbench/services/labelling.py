"""The labelling session behind `labelbench label`: claim, show, decide, undo, resume.

Every method is one transaction (one user action) of the kind it needs: claiming, deciding and
undoing write (on SQLite they take the write lock at BEGIN, so concurrent analysts queue for a
few milliseconds instead of failing), showing an item only reads. A decision is committed before
the next item is claimed, so killing the app loses nothing that was confirmed on screen. The
views live in :mod:`labelbench.services.item_view`, adjudication in
:mod:`labelbench.services.review`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import Label, LabelBatch, QueueItem, Sample
from labelbench.domain.constants import VERDICTS
from labelbench.domain.labels import (
    CONFIRMED,
    NEW_POSITIVE,
    OVERTURNED,
    LabelEvent,
    effective_label,
    outcome,
    standing_decisions,
)
from labelbench.errors import ConflictError, InputError, NotFoundError
from labelbench.services import claims
from labelbench.services.item_view import PREDICT_AHEAD, ItemViews, SampleView
from labelbench.services.predict import Predictor
from labelbench.services.queue import build_queue, pending_count, target_countries
from labelbench.services.workspace import Workspace


@dataclass(frozen=True)
class CountryProgress:
    country: str
    session_labels: int
    session_positives: int
    new_positives: int
    """Human positives on days no incident marked (all analysts, all time): the goal's unit."""
    goal: int
    confirmed: int = 0
    """Human positives on incident-positive days (all time)."""
    overturned: int = 0
    """Human negatives on incident-positive days (all time)."""


@dataclass(frozen=True)
class Progress:
    batch_id: int
    analyst: str
    decisions: int
    labels_per_hour: float
    items_left: int
    countries: list[CountryProgress]


@dataclass(frozen=True)
class StartInfo:
    batch_id: int
    resumed: bool
    released_stale: int
    queue_built: bool
    countries: list[str]
    model_run_id: str | None


@dataclass
class LabellingService:
    """One analyst's labelling session over the queue of some target countries."""

    ws: Workspace
    analyst: str
    countries: Sequence[str] | None = None
    strategy: str | None = None
    batch_size: int | None = None
    batch_id: int | None = None
    _targets: list[str] = field(default_factory=list)
    _views: ItemViews = field(default_factory=ItemViews)
    _started_at: float = field(default_factory=time.monotonic)
    _tally: _OutcomeTally | None = None
    _batch_started: dt.datetime | None = None

    # --- session lifecycle --------------------------------------------------------------------

    def start(self, *, build_if_empty: bool = True) -> StartInfo:
        """Open or resume the analyst's batch, release stale claims, make sure work is queued."""
        if not self.analyst.strip():
            raise InputError("analyst name must not be empty")
        settings = self.ws.settings
        with self.ws.transaction() as session:
            self._targets = target_countries(session, settings, self.countries)
            released = claims.release_stale(session)
            batch = session.scalars(
                select(LabelBatch)
                .where(LabelBatch.analyst == self.analyst, LabelBatch.status == "open")
                .order_by(LabelBatch.id.desc())
                .limit(1)
            ).first()
            resumed = batch is not None
            if batch is None:
                batch = LabelBatch(
                    analyst=self.analyst,
                    countries=list(self._targets),
                    strategy=self.strategy or settings.queue.strategy,
                )
                session.add(batch)
                session.flush()
            self.batch_id = batch.id
            has_work = pending_count(session, self._targets) > 0 or self._has_own_claims(session)
        built = False
        if build_if_empty and not has_work:
            build_queue(
                self.ws,
                actor=self.analyst,
                countries=self._targets,
                strategy=self.strategy,
                size=self.batch_size,
            )
            built = True
        self._views.predictor = Predictor.for_production(self.ws)
        self._views.upcoming = self._upcoming
        self._tally = None  # targets may have changed: count afresh on the next progress()
        self._batch_started = None
        return StartInfo(
            batch_id=int(self.batch_id),
            resumed=resumed,
            released_stale=released,
            queue_built=built,
            countries=list(self._targets),
            model_run_id=self._views.predictor.run_id if self._views.predictor else None,
        )

    def _has_own_claims(self, session: Session) -> bool:
        return (
            session.scalar(
                select(func.count())
                .select_from(QueueItem)
                .where(QueueItem.status == "claimed", QueueItem.claimed_by == self.analyst)
            )
            or 0
        ) > 0

    def _upcoming(self, session: Session) -> list[int]:
        """Sample ids of the pending items this session would claim next, best first."""
        return claims.upcoming_samples(session, self._targets or None, PREDICT_AHEAD)

    def use_predictor(self, predictor: Predictor | None) -> None:
        """Switch to a newly trained model (the app trains a baseline when none exists)."""
        self._views.predictor = predictor

    def close(self) -> Progress:
        """Close the batch and release claims; returns the final progress for the summary."""
        progress = self.progress()
        with self.ws.transaction() as session:
            session.execute(
                update(QueueItem)
                .where(QueueItem.status == "claimed", QueueItem.claimed_by == self.analyst)
                .values(status="pending", claimed_by=None, lease_expires_at=None)
            )
            session.execute(
                update(LabelBatch)
                .where(LabelBatch.id == self._batch(), LabelBatch.status == "open")
                .values(status="closed", closed_at=utcnow())
            )
        return progress

    def _batch(self) -> int:
        if self.batch_id is None:
            raise InputError("the labelling session has not been started")
        return self.batch_id

    # --- serving ------------------------------------------------------------------------------

    def next_item(self, *, skip_items: Sequence[int] = ()) -> SampleView | None:
        """Claim the next item (a short writing transaction), then assemble its view (a reading
        one); None when nothing is left. Second opinions are served blind."""
        with self.ws.transaction() as session:
            item = claims.claim_next_item(
                session,
                self.analyst,
                lease_seconds=self.ws.settings.queue.lease_seconds,
                countries=self._targets or None,
                skip_items=skip_items,
            )
        if item is None:
            return None
        with self.ws.transaction(readonly=True) as session:
            return self._views.build(
                session, item.sample_id, item, blind=item.purpose == "second_opinion"
            )

    def view_sample(self, sample_id: int) -> SampleView:
        """The view of any sample (navigation back to decided items, review screen).

        A second opinion stays blind while it is this analyst's open item; once decided, the
        analyst may look back at everything.
        """
        with self.ws.transaction(readonly=True) as session:
            item = session.scalars(
                select(QueueItem)
                .where(QueueItem.sample_id == sample_id, QueueItem.claimed_by == self.analyst)
                .order_by(QueueItem.id.desc())
                .limit(1)
            ).first()
            blind = (
                item is not None and item.purpose == "second_opinion" and item.status == "claimed"
            )
            return self._views.build(session, sample_id, item, blind=blind)

    def renew(self, item_id: int) -> bool:
        with self.ws.transaction() as session:
            return claims.renew(
                session, item_id, self.analyst, lease_seconds=self.ws.settings.queue.lease_seconds
            )

    def release(self, item_id: int) -> None:
        with self.ws.transaction() as session:
            claims.release(session, item_id, self.analyst)

    # --- decisions ----------------------------------------------------------------------------

    def decide(
        self,
        sample_id: int,
        verdict: str,
        *,
        fingerprint_seen: str,
        item_id: int | None = None,
        note: str | None = None,
        citation_url: str | None = None,
        seconds_spent: float | None = None,
    ) -> int:
        """Record a verdict (committed before returning) and finish the queue item."""
        if verdict not in VERDICTS:
            raise InputError(f"unknown verdict {verdict!r}; use one of {', '.join(VERDICTS)}")
        with self.ws.transaction() as session:
            item = session.get(QueueItem, item_id) if item_id is not None else None
            if item is not None and item.sample_id != sample_id:
                raise InputError(f"item {item_id} is not about sample {sample_id}")
            if item is None and session.get(Sample, sample_id) is None:  # an item implies one
                raise NotFoundError(f"no sample {sample_id}")
            if item is not None and item.status == "claimed" and item.claimed_by != self.analyst:
                raise ConflictError(
                    f"item {item_id} is now claimed by {item.claimed_by} (your lease expired)"
                )
            if item is not None and item.status == "done" and item.label_id is not None:
                done = session.get(Label, item.label_id)
                if done is not None and (done.analyst, done.verdict) == (self.analyst, verdict):
                    # A retry after a lost connection: the first attempt did commit.
                    return int(done.id)
            label = Label(
                sample_id=sample_id,
                verdict=verdict,
                event="decision",
                analyst=self.analyst,
                batch_id=self._batch(),
                evidence_fingerprint=fingerprint_seen,
                note=note or None,
                citation_url=citation_url or None,
                seconds_spent=seconds_spent,
                created_at=utcnow(),
            )
            session.add(label)
            session.flush()
            if item is not None and item.status in ("claimed", "pending"):
                item.status, item.label_id, item.done_at = "done", label.id, utcnow()
                item.claimed_by, item.lease_expires_at = self.analyst, None
                if item.purpose == "primary":
                    _move_second_opinion(session, item, "waiting", "pending", self.analyst)
            return int(label.id)

    def undo(self) -> int | None:
        """Retract this session's latest standing decision; returns its sample id (or None).

        The log keeps both events; the item goes back to this analyst, claimed, to be redone.
        """
        with self.ws.transaction() as session:
            retracted = select(Label.retracts_id).where(Label.retracts_id.is_not(None))
            last = session.scalars(
                select(Label)
                .where(
                    Label.batch_id == self._batch(),
                    Label.analyst == self.analyst,
                    Label.event == "decision",
                    Label.id.not_in(retracted),
                )
                .order_by(Label.created_at.desc(), Label.id.desc())
                .limit(1)
            ).first()
            if last is None:
                return None
            session.add(
                Label(
                    sample_id=last.sample_id,
                    verdict=last.verdict,
                    event="retraction",
                    analyst=self.analyst,
                    batch_id=last.batch_id,
                    evidence_fingerprint=last.evidence_fingerprint,
                    retracts_id=last.id,
                    created_at=utcnow(),
                )
            )
            item = session.scalars(select(QueueItem).where(QueueItem.label_id == last.id)).first()
            if item is not None:
                lease = utcnow() + dt.timedelta(seconds=self.ws.settings.queue.lease_seconds)
                item.status, item.label_id, item.done_at = "claimed", None, None
                item.claimed_by, item.lease_expires_at = self.analyst, lease
                if item.purpose == "primary":
                    _move_second_opinion(session, item, "pending", "waiting", None)
            return int(last.sample_id)

    # --- progress -----------------------------------------------------------------------------

    def progress(self) -> Progress:
        """The side panel's counts, from this batch's events and the targets' new events only.

        All-time outcomes per target country are tallied once per session and then kept up to
        date from the label log's tail, so a keypress never reads the whole log, however long
        it grows. Three statements: this batch's events, the tail, the items left.
        """
        goal = self.ws.settings.queue.goal_new_positives
        batch_id = self._batch()
        with self.ws.transaction(readonly=True) as session:
            if self._batch_started is None:  # fixed once the batch exists
                batch = session.get(LabelBatch, batch_id)
                assert batch is not None
                self._batch_started = batch.started_at
            mine = queries.placed_label_events(session, batch_id=batch_id)
            if self._tally is None:
                self._tally = _OutcomeTally(self._targets)
            self._tally.refresh(session)
            items_left = _items_left(session, self._targets, self.analyst)
        country_of = {p.event.sample_id: p.country for p in mine}
        standing = [
            (e.verdict, country_of[e.sample_id]) for e in standing_decisions(p.event for p in mine)
        ]
        countries = []
        for c in self._targets:
            verdicts = [v for v, country in standing if country == c]
            counts = self._tally.counts(c)
            countries.append(
                CountryProgress(
                    country=c,
                    session_labels=len(verdicts),
                    session_positives=verdicts.count("positive"),
                    new_positives=counts[NEW_POSITIVE],
                    goal=goal,
                    confirmed=counts[CONFIRMED],
                    overturned=counts[OVERTURNED],
                )
            )
        hours = max((utcnow() - self._batch_started).total_seconds() / 3600.0, 1 / 60)
        return Progress(
            batch_id=batch_id,
            analyst=self.analyst,
            decisions=len(standing),
            labels_per_hour=round(len(standing) / hours, 1),
            items_left=items_left,
            countries=countries,
        )


def _items_left(session: Session, targets: Sequence[str], analyst: str) -> int:
    """Pending items in the targets plus the analyst's own claims, in one statement."""
    pending = QueueItem.status == "pending"
    if targets:
        pending = and_(pending, QueueItem.country.in_(targets))
    mine = and_(QueueItem.status == "claimed", QueueItem.claimed_by == analyst)
    return int(
        session.scalar(select(func.count()).select_from(QueueItem).where(or_(pending, mine))) or 0
    )


#: How far back (in label ids) each tally refresh looks again: ids are handed out when a row is
#: inserted, not when its transaction commits, so another analyst's event may become visible
#: after events with larger ids were already read. Seen ids are skipped. A decision is one
#: event in its own short transaction, so the gap is at most the number of analysts deciding
#: at that moment; 64 covers a large team without re-reading much per keypress.
TAIL_OVERLAP = 64


@dataclass
class _OutcomeTally:
    """Outcome counts per country for some countries, maintained from the label log's tail.

    The first :meth:`refresh` reads the countries' events once and keeps them per day; later
    ones read only the tail and re-derive the days it touches. Two lead actions from the CLI
    reach a running tally only at the next session: a batch revert (it changes no event) and a
    `import labels` whose transaction commits more than :data:`TAIL_OVERLAP` ids late.
    """

    countries: Sequence[str]
    _last_id: int = 0
    _seen: set[int] = field(default_factory=set)
    _events: dict[int, list[LabelEvent]] = field(default_factory=dict)
    """sample id -> its events (the derivation needs every event of a day)."""
    _outcome: dict[int, str | None] = field(default_factory=dict)
    _place: dict[int, tuple[str, int]] = field(default_factory=dict)
    """sample id -> (country, incident label)."""
    _by_country: dict[str, Counter[str | None]] = field(default_factory=dict)
    """Outcome counts per country, kept in step with ``_outcome``."""

    def refresh(self, session: Session) -> None:
        after = self._last_id - TAIL_OVERLAP if self._last_id else None
        fresh = [
            p
            for p in queries.placed_label_events(
                session, countries=self.countries, after_id=after if after and after > 0 else None
            )
            if p.event.id not in self._seen
        ]
        if not fresh:
            return
        touched: set[int] = set()
        for p in fresh:
            sid = p.event.sample_id
            self._seen.add(p.event.id)
            self._events.setdefault(sid, []).append(p.event)
            self._place[sid] = (p.country, p.incident_label)
            touched.add(sid)
        self._last_id = max(self._last_id, *(p.event.id for p in fresh))
        for sid in touched:
            eff = effective_label(self._events[sid])
            country, incident = self._place[sid]
            tally = self._by_country.setdefault(country, Counter())
            if sid in self._outcome:
                tally[self._outcome[sid]] -= 1
            self._outcome[sid] = outcome(eff.verdict if eff else None, incident)
            tally[self._outcome[sid]] += 1

    def counts(self, country: str) -> Counter[str | None]:
        return self._by_country.get(country, Counter())


def _move_second_opinion(
    session: Session, primary: QueueItem, old: str, new: str, exclude: str | None
) -> None:
    """A primary's decision releases its second opinion (for another analyst); undo re-holds it."""
    session.execute(
        update(QueueItem)
        .where(
            QueueItem.build_id == primary.build_id,
            QueueItem.sample_id == primary.sample_id,
            QueueItem.purpose == "second_opinion",
            QueueItem.status == old,
        )
        .values(status=new, exclude_analyst=exclude)
    )
