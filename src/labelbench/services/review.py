"""Adjudication: the disagreements between analysts and a lead's final verdict on them.

A sample is disputed when analysts' standing verdicts conflict, or when a second opinion's
``unsure`` doubts another analyst's verdict (see :mod:`labelbench.domain.labels`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from labelbench.db import queries
from labelbench.db.base import utcnow
from labelbench.db.models import Label, Sample
from labelbench.domain.labels import DISPUTED, effective_labels, standing_decisions
from labelbench.errors import InputError, NotFoundError
from labelbench.services.workspace import Workspace


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
