"""What the analyst sees for one country-day: the view objects and their assembly.

A *blind* view is served for second opinions: it withholds earlier analysts' verdicts and notes,
the effective-verdict marks in the timeline and the model's probabilities, so that agreement
between analysts (kappa, AC1) measures judgement rather than anchoring, and human evaluation
labels do not lean towards production's output. The review screen shows everything afterwards.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.models import Country, Evidence, Incident, Label, QueueItem, Sample
from labelbench.domain.constants import FEATURES
from labelbench.domain.labels import effective_label, effective_labels
from labelbench.errors import NotFoundError
from labelbench.services.predict import Predictor

TIMELINE_DAYS = 14
BLIND_REASON = (
    "second opinion, served blind: earlier verdicts and the model are shown after you decide"
)
#: A feature is "unusual" when its robust z-score against the country's days exceeds this.
UNUSUAL_Z = 2.0
#: "Typical" is the country's norm over its most recent days (regimes change over the years;
#: and one query per country stays small however long the history grows).
NORM_DAYS = 730


@dataclass(frozen=True)
class FeatureRow:
    name: str
    value: float
    typical: float
    """The country's median over its last :data:`NORM_DAYS` days."""
    z: float
    """Robust z-score (median/IQR) against those days."""
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
    blind: bool = False
    """A second opinion: earlier verdicts, notes, verdict marks and the model are withheld."""

    @property
    def weekday(self) -> str:
        return self.day.strftime("%A")


@dataclass
class _CountryStats:
    median: dict[str, float]
    scale: dict[str, float]


@dataclass
class ItemViews:
    """Assembles views; caches what does not change within a session (country statistics,
    the neighbour graph), so serving an item reads only that day's rows."""

    predictor: Predictor | None = None
    _stats: dict[str, _CountryStats] = field(default_factory=dict)
    _neighbours: dict[str, frozenset[str]] | None = None
    _countries: dict[str, Country] = field(default_factory=dict)
    upcoming: Callable[[Session], list[int]] | None = None
    """Sample ids of the items likely served next, predicted together with the current one."""
    _predictions: dict[tuple[object, ...], tuple[dict[str, float | None], float]] = field(
        default_factory=dict
    )
    _predicted_by: str | None = None

    def _country(self, session: Session, code: str) -> Country:
        cached = self._countries.get(code)
        if cached is None:  # reference data: read once per session
            cached = session.get(Country, code)
            assert cached is not None
            session.expunge(cached)
            self._countries[code] = cached
        return cached

    def _country_stats(self, session: Session, country: str) -> _CountryStats:
        cached = self._stats.get(country)
        if cached is not None:
            return cached
        latest = session.scalar(select(func.max(Sample.day)).where(Sample.country == country))
        rows = (
            session.execute(
                select(*[getattr(Sample, f) for f in FEATURES]).where(
                    Sample.country == country,
                    Sample.day > latest - dt.timedelta(days=NORM_DAYS),
                )
            ).all()
            if latest is not None
            else []
        )
        values = np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))
        median, scale = {}, {}
        with warnings.catch_warnings():  # an all-missing feature has no norm: 0, shown as such
            warnings.simplefilter("ignore", RuntimeWarning)
            for k, f in enumerate(FEATURES):
                column = values[:, k]
                mid = float(np.nanmedian(column)) if len(column) else 0.0
                median[f] = 0.0 if np.isnan(mid) else mid
                if len(column) < 4:
                    scale[f] = 0.0
                    continue
                q1, q3 = np.nanpercentile(column, [25, 75])
                iqr = float((q3 - q1) / 1.349)
                scale[f] = 0.0 if np.isnan(iqr) else iqr
        stats = _CountryStats(median, scale)
        self._stats[country] = stats
        return stats

    def build(
        self, session: Session, sample_id: int, item: QueueItem | None, *, blind: bool = False
    ) -> SampleView:
        """The view of one country-day; ``blind`` hides every earlier judgement (see module)."""
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFoundError(f"no sample {sample_id}")
        country = self._country(session, sample.country)
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
        window_events = (
            [] if blind else queries.label_events(session, list(window_samples.values()))
        )
        window_labels = effective_labels(window_events)
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
        label_rows = (
            []
            if blind
            else session.scalars(
                select(Label)
                .where(Label.sample_id == sample_id)
                .order_by(Label.created_at, Label.id)
            ).all()
        )
        current = effective_label(e for e in window_events if e.sample_id == sample_id)
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
        probabilities, threshold = self._probabilities(session, sample, blind=blind)
        info = None
        if item is not None:
            info = ItemInfo(
                item_id=item.id,
                purpose=item.purpose,
                strategy=item.strategy,
                scorer=None if blind else item.scorer,
                score=0.0 if blind else item.score,
                rank=item.rank,
                country_quota=item.country_quota,
                reason=BLIND_REASON if blind else item.reason,
                expected_p=None if blind else item.expected_p,
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
            blind=blind,
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

    def _probabilities(
        self, session: Session, sample: Sample, *, blind: bool
    ) -> tuple[dict[str, float | None], float]:
        if self.predictor is None or blind:
            return {"base": None, "cluster": None, "stack": None, "final": None}, 0.5
        if self._predicted_by != self.predictor.run_id:
            self._predictions.clear()
            self._predicted_by = self.predictor.run_id
        key = _prediction_key(sample)
        if key not in self._predictions:
            ahead = self.upcoming(session) if self.upcoming is not None else []
            others = [i for i in ahead if i != sample.id][:PREDICT_AHEAD]
            batch = [sample, *session.scalars(select(Sample).where(Sample.id.in_(others)))]
            rows = pd.DataFrame([{f: float(getattr(s, f)) for f in FEATURES} for s in batch])
            rows["country"] = [s.country for s in batch]
            rows["sample_id"] = [s.id for s in batch]
            for s, predicted in zip(batch, self.predictor.predict_display(rows), strict=True):
                self._predictions[_prediction_key(s)] = predicted
        return self._predictions[key]


#: Upcoming items predicted together with a served one (one model call instead of many).
PREDICT_AHEAD = 32


def _prediction_key(sample: Sample) -> tuple[object, ...]:
    """A day's identity and features: a re-import that changes a feature misses the cache."""
    return (sample.id, sample.country, *(float(getattr(sample, f)) for f in FEATURES))


def _strongest(types: Sequence[str]) -> str | None:
    for kind in ("censorship", "mixed", "disruption"):
        if kind in types:
            return kind
    return None
