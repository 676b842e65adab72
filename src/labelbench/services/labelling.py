"""The labelling session behind `labelbench label`: claim, show, decide, undo, resume, review.

Every method is one transaction (one user action) and is safe to call from a worker thread:
the TUI never touches the database itself. A decision is committed before the next item is
claimed, so killing the app loses nothing that was confirmed on screen.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import (
    Country,
    Evidence,
    Incident,
    Label,
    LabelBatch,
    QueueItem,
    Sample,
)
from labelbench.domain.constants import FEATURES, VERDICTS
from labelbench.domain.labels import (
    DISPUTED,
    effective_label,
    effective_labels,
    standing_decisions,
)
from labelbench.errors import ConflictError, InputError, NotFoundError
from labelbench.services import claims
from labelbench.services.predict import Predictor
from labelbench.services.queue import build_queue, pending_count, target_countries
from labelbench.services.workspace import Workspace

TIMELINE_DAYS = 14
#: A feature is "unusual" when its robust z-score against the country's samples exceeds this.
UNUSUAL_Z = 2.0


# --- what the analyst sees -----------------------------------------------------------------


@dataclass(frozen=True)
class FeatureRow:
    name: str
    value: float
    typical: float
    """The country's median over its samples."""
    z: float
    """Robust z-score (median/IQR) against the country's samples."""
    unusual: bool


@dataclass(frozen=True)
class TimelinePoint:
    day: dt.date
    anomaly_rate: float | None
    volume: int
    incident: str | None
    """Incident type covering the day, if any."""
    label: str | None
    """Effective human verdict of the day's sample, if any."""


@dataclass(frozen=True)
class EvidenceRow:
    source: str
    kind: str
    signal_type: str | None
    signal_value: float | None
    signal_baseline: float | None
    signal_level: str | None
    domain: str | None
    blocking_method: str | None
    confidence: float | None
    anomalous: bool
    url: str | None
    observed_at: dt.datetime


@dataclass(frozen=True)
class NeighbourSignal:
    country: str
    anomaly_rate: float | None
    volume: int
    incident: str | None


@dataclass(frozen=True)
class IncidentRow:
    id: int
    incident_type: str
    first_seen: dt.date
    last_seen: dt.date
    source: str | None
    citation_url: str | None


@dataclass(frozen=True)
class LabelRow:
    id: int
    verdict: str
    event: str
    analyst: str
    created_at: dt.datetime
    note: str | None
    citation_url: str | None
    evidence_changed: bool


@dataclass(frozen=True)
class ItemInfo:
    """Why the item is in the queue."""

    item_id: int
    purpose: str
    strategy: str
    scorer: str | None
    score: float
    rank: int
    country_quota: int
    reason: str
    expected_p: float | None


@dataclass(frozen=True)
class SampleView:
    """Everything the app shows for one country-day."""

    sample_id: int
    country: str
    country_name: str
    day: dt.date
    cluster: str | None
    fingerprint: str
    incident_label: int
    item: ItemInfo | None
    probabilities: dict[str, float | None]
    threshold: float
    features: list[FeatureRow]
    timeline: list[TimelinePoint]
    evidence: list[EvidenceRow]
    source_counts: dict[str, int]
    neighbours: list[NeighbourSignal]
    incidents: list[IncidentRow]
    labels: list[LabelRow]
    current_verdict: str | None

    @property
    def weekday(self) -> str:
        return self.day.strftime("%A")


@dataclass(frozen=True)
class CountryProgress:
    country: str
    session_labels: int
    session_positives: int
    new_positives: int
    """Human-confirmed positives on days without an incident label, all analysts, all time."""
    goal: int


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
class _CountryStats:
    median: dict[str, float]
    scale: dict[str, float]


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
    _stats: dict[str, _CountryStats] = field(default_factory=dict)
    _predictor: Predictor | None = None
    _neighbours: dict[str, frozenset[str]] | None = None
    _started_at: float = field(default_factory=time.monotonic)

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
        self._predictor = Predictor.for_production(self.ws)
        return StartInfo(
            batch_id=int(self.batch_id),
            resumed=resumed,
            released_stale=released,
            queue_built=built,
            countries=list(self._targets),
            model_run_id=self._predictor.run_id if self._predictor else None,
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

    def use_predictor(self, predictor: Predictor | None) -> None:
        """Switch to a newly trained model (the app trains a baseline when none exists)."""
        self._predictor = predictor

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
        """Claim the next item (one transaction) and assemble its view; None when done."""
        with self.ws.transaction(readonly=True) as session:
            item_id = claims.claim_next(
                session,
                self.analyst,
                lease_seconds=self.ws.settings.queue.lease_seconds,
                countries=self._targets or None,
                skip_items=skip_items,
            )
            if item_id is None:
                return None
            item = session.get(QueueItem, item_id)
            assert item is not None
            return self._view(session, item.sample_id, item)

    def view_sample(self, sample_id: int) -> SampleView:
        """The view of any sample (navigation back to decided items, review screen)."""
        with self.ws.transaction() as session:
            item = session.scalars(
                select(QueueItem)
                .where(QueueItem.sample_id == sample_id, QueueItem.claimed_by == self.analyst)
                .order_by(QueueItem.id.desc())
                .limit(1)
            ).first()
            return self._view(session, sample_id, item)

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
            if session.get(Sample, sample_id) is None:
                raise NotFoundError(f"no sample {sample_id}")
            item = session.get(QueueItem, item_id) if item_id is not None else None
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
        goal = self.ws.settings.queue.goal_new_positives
        batch_id = self._batch()
        with self.ws.transaction(readonly=True) as session:
            batch = session.get(LabelBatch, batch_id)
            assert batch is not None
            events = queries.label_events(session)
            effective = effective_labels(events)
            mine = [e for e in standing_decisions(events) if e.batch_id == batch_id]
            country_of = dict(
                session.execute(
                    select(Sample.id, Sample.country).where(
                        Sample.id.in_({e.sample_id for e in mine})
                    )
                ).all()
            )
            standing = [(e.verdict, country_of[e.sample_id]) for e in mine]
            incident = dict(
                session.execute(
                    select(Sample.id, Sample.country).where(
                        Sample.id.in_(list(effective)), Sample.incident_label == 0
                    )
                ).all()
            )
            items_left = pending_count(session, self._targets) + int(
                session.scalar(
                    select(func.count())
                    .select_from(QueueItem)
                    .where(QueueItem.status == "claimed", QueueItem.claimed_by == self.analyst)
                )
                or 0
            )
        new_pos: dict[str, int] = {}
        for sid, country in incident.items():
            if effective[sid].verdict == "positive":
                new_pos[country] = new_pos.get(country, 0) + 1
        countries = []
        for c in self._targets:
            verdicts = [v for v, country in standing if country == c]
            countries.append(
                CountryProgress(
                    country=c,
                    session_labels=len(verdicts),
                    session_positives=verdicts.count("positive"),
                    new_positives=new_pos.get(c, 0),
                    goal=goal,
                )
            )
        hours = max((utcnow() - batch.started_at).total_seconds() / 3600.0, 1 / 60)
        return Progress(
            batch_id=batch_id,
            analyst=self.analyst,
            decisions=len(standing),
            labels_per_hour=round(len(standing) / hours, 1),
            items_left=items_left,
            countries=countries,
        )

    # --- view assembly ------------------------------------------------------------------------

    def _country_stats(self, session: Session, country: str) -> _CountryStats:
        cached = self._stats.get(country)
        if cached is not None:
            return cached
        frame = queries.samples_frame(session, [country])
        median = {f: float(frame[f].median()) if len(frame) else 0.0 for f in FEATURES}
        scale = {}
        for f in FEATURES:
            if len(frame) < 4:
                scale[f] = 0.0
                continue
            q1, q3 = np.percentile(frame[f].to_numpy(dtype=float), [25, 75])
            scale[f] = float((q3 - q1) / 1.349)
        stats = _CountryStats(median, scale)
        self._stats[country] = stats
        return stats

    def _view(self, session: Session, sample_id: int, item: QueueItem | None) -> SampleView:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFoundError(f"no sample {sample_id}")
        country = session.get(Country, sample.country)
        assert country is not None
        stats = self._country_stats(session, sample.country)
        features = []
        for f in FEATURES:
            value = float(getattr(sample, f))
            scale = stats.scale[f]
            z = (value - stats.median[f]) / scale if scale > 1e-9 else 0.0
            features.append(FeatureRow(f, value, stats.median[f], z, abs(z) >= UNUSUAL_Z))
        lo = sample.day - dt.timedelta(days=TIMELINE_DAYS)
        hi = sample.day + dt.timedelta(days=TIMELINE_DAYS)
        daily = queries.anomaly_counts(
            session, Evidence.day, Evidence.country == sample.country, Evidence.day.between(lo, hi)
        )
        incidents = list(
            session.scalars(
                select(Incident)
                .where(
                    Incident.country == sample.country,
                    Incident.first_seen <= hi,
                    Incident.last_seen >= lo,
                )
                .order_by(Incident.first_seen)
            )
        )
        window_samples = dict(
            session.execute(
                select(Sample.day, Sample.id).where(
                    Sample.country == sample.country, Sample.day.between(lo, hi)
                )
            ).all()
        )
        window_labels = effective_labels(
            queries.label_events(session, list(window_samples.values()))
        )
        timeline = []
        for k in range(-TIMELINE_DAYS, TIMELINE_DAYS + 1):
            day = sample.day + dt.timedelta(days=k)
            n, anom = daily.get(day, (0, 0))
            covering = [i.incident_type for i in incidents if i.first_seen <= day <= i.last_seen]
            sid = window_samples.get(day)
            eff = window_labels.get(sid) if sid is not None else None
            timeline.append(
                TimelinePoint(
                    day=day,
                    anomaly_rate=(anom / n) if n else None,
                    volume=int(n),
                    incident=_strongest(covering),
                    label=eff.verdict if eff else None,
                )
            )
        evidence = [
            EvidenceRow(
                source=e.source,
                kind=e.kind,
                signal_type=e.signal_type,
                signal_value=e.signal_value,
                signal_baseline=e.signal_baseline,
                signal_level=e.signal_level,
                domain=e.domain,
                blocking_method=e.blocking_method,
                confidence=e.confidence,
                anomalous=bool(e.anomalous),
                url=e.source_url,
                observed_at=e.observed_at,
            )
            for e in queries.evidence_for_day(session, sample.country, sample.day)
        ]
        source_counts: dict[str, int] = {}
        for e in evidence:
            source_counts[e.source] = source_counts.get(e.source, 0) + 1
        neighbours = self._neighbour_signals(session, sample.country, sample.day)
        day_incidents = [
            IncidentRow(i.id, i.incident_type, i.first_seen, i.last_seen, i.source, i.citation_url)
            for i in incidents
            if i.first_seen <= sample.day <= i.last_seen
        ]
        label_rows = session.scalars(
            select(Label).where(Label.sample_id == sample_id).order_by(Label.created_at, Label.id)
        ).all()
        events = queries.label_events(session, [sample_id])
        current = effective_label(events)
        labels = [
            LabelRow(
                id=lab.id,
                verdict=lab.verdict,
                event=lab.event,
                analyst=lab.analyst,
                created_at=lab.created_at,
                note=lab.note,
                citation_url=lab.citation_url,
                evidence_changed=lab.evidence_fingerprint != sample.fingerprint,
            )
            for lab in label_rows
        ]
        probabilities, threshold = self._probabilities(sample)
        info = (
            ItemInfo(
                item_id=item.id,
                purpose=item.purpose,
                strategy=item.strategy,
                scorer=item.scorer,
                score=item.score,
                rank=item.rank,
                country_quota=item.country_quota,
                reason=item.reason,
                expected_p=item.expected_p,
            )
            if item is not None
            else None
        )
        return SampleView(
            sample_id=sample.id,
            country=sample.country,
            country_name=country.name,
            day=sample.day,
            cluster=country.cluster,
            fingerprint=sample.fingerprint,
            incident_label=sample.incident_label,
            item=info,
            probabilities=probabilities,
            threshold=threshold,
            features=features,
            timeline=timeline,
            evidence=evidence,
            source_counts=source_counts,
            neighbours=neighbours,
            incidents=day_incidents,
            labels=labels,
            current_verdict=current.verdict if current else None,
        )

    def _neighbour_signals(
        self, session: Session, country: str, day: dt.date
    ) -> list[NeighbourSignal]:
        if self._neighbours is None:  # static reference data: load once per session
            self._neighbours = queries.neighbours(session)
        nbrs = sorted(self._neighbours.get(country, frozenset()))
        if not nbrs:
            return []
        rows = queries.anomaly_counts(
            session, Evidence.country, Evidence.country.in_(nbrs), Evidence.day == day
        )
        touching: dict[str, list[str]] = {}
        for c, kind in session.execute(
            select(Incident.country, Incident.incident_type).where(
                Incident.country.in_(nbrs), Incident.first_seen <= day, Incident.last_seen >= day
            )
        ):
            touching.setdefault(c, []).append(kind)
        out = []
        for c in nbrs:
            n, anom = rows.get(c, (0, 0))
            if n == 0 and c not in touching:
                continue
            out.append(
                NeighbourSignal(
                    c, (anom / n) if n else None, int(n), _strongest(touching.get(c, []))
                )
            )
        return sorted(out, key=lambda s: -(s.anomaly_rate or 0.0))

    def _probabilities(self, sample: Sample) -> tuple[dict[str, float | None], float]:
        if self._predictor is None:
            return {"base": None, "cluster": None, "stack": None, "final": None}, 0.5
        row = pd.DataFrame([{f: float(getattr(sample, f)) for f in FEATURES}])
        row["country"] = sample.country
        row["sample_id"] = sample.id
        return self._predictor.predict_one(row)


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


def _strongest(types: Sequence[str]) -> str | None:
    for kind in ("censorship", "mixed", "disruption"):
        if kind in types:
            return kind
    return None


# --- review (adjudication) -------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    sample_id: int
    country: str
    day: dt.date
    verdicts: dict[str, str]
    """Analyst -> standing verdict."""


def disagreements(ws: Workspace, countries: Sequence[str] | None = None) -> list[Disagreement]:
    """Samples whose analysts' standing verdicts conflict and that no one has adjudicated."""
    with ws.transaction(readonly=True) as session:
        events = queries.label_events(session)
        effective = effective_labels(events)
        disputed = [sid for sid, eff in effective.items() if eff.verdict == DISPUTED]
        if not disputed:
            return []
        samples = {
            s.id: s
            for s in session.scalars(select(Sample).where(Sample.id.in_(disputed)))
            if not countries or s.country in countries
        }
    decisions = standing_decisions(events)  # in log order: the last per analyst wins
    out = []
    for sid in sorted(samples, key=lambda i: (samples[i].country, samples[i].day)):
        verdicts = {e.analyst: e.verdict for e in decisions if e.sample_id == sid}
        out.append(Disagreement(sid, samples[sid].country, samples[sid].day, verdicts))
    return out


def adjudicate(
    ws: Workspace, sample_id: int, verdict: str, *, lead: str, note: str | None = None
) -> int:
    """Record a lead's final verdict on a disputed sample (an ``adjudication`` event)."""
    if verdict not in ("positive", "negative", "unsure"):
        raise InputError("adjudicate with positive, negative or unsure")
    with ws.transaction() as session:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFoundError(f"no sample {sample_id}")
        label = Label(
            sample_id=sample_id,
            verdict=verdict,
            event="adjudication",
            analyst=lead,
            evidence_fingerprint=sample.fingerprint,
            note=note,
            created_at=utcnow(),
        )
        session.add(label)
        session.flush()
        return int(label.id)
