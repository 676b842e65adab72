"""Per-country outcome counts (new positives, confirmations, overturns): one read for every output.

``status``, the weekly and batch reports and the labelling app's progress and quit summary show
the same figures because they all come from :func:`labelbench.domain.labels.day_outcomes`; this
module is the database side of it for callers that hold a session.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelbench.db import labellog
from labelbench.db.models import Label, Sample
from labelbench.domain.labels import OutcomeCounts, day_outcomes


def outcome_counts(
    session: Session, countries: Sequence[str] | None = None, *, batch_id: int | None = None
) -> dict[str, OutcomeCounts]:
    """Labelled days by outcome per country (every country with one when ``countries`` is None).

    With ``batch_id``, only the days that batch has a standing decision on (their outcome is the
    day's effective label now, whoever else labelled it). Countries asked for but without
    labelled days get zero counts.
    """
    events = labellog.label_events(session)
    stmt = select(Sample.id, Sample.country, Sample.incident_label).where(
        Sample.id.in_(select(Label.sample_id))
    )
    if countries is not None:
        stmt = stmt.where(Sample.country.in_(list(countries)))
    meta = {int(r.id): (str(r.country), int(r.incident_label)) for r in session.execute(stmt)}
    incident = {sid: label for sid, (_, label) in meta.items()}
    days = day_outcomes([e for e in events if e.sample_id in meta], incident, batch_id=batch_id)
    per: dict[str, list[str]] = {c: [] for c in countries or ()}
    for sid, day in days.items():
        per.setdefault(meta[sid][0], []).append(day.outcome)
    return {c: OutcomeCounts.of(found) for c, found in sorted(per.items())}
