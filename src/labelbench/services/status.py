"""`labelbench status`: what is in the database, overall and per country.

Training positives are the incident-derived ones, minus those analysts overturned or left
undecided, plus the new positives they found: the status line spells that sum out, so a
positive count that differs from the incident count is never a mystery. Imports no pandas:
``status`` is a read-only command that must start fast.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labelbench.db import labellog, migrate
from labelbench.db.models import Evidence, Incident, Label, ModelRun, Sample
from labelbench.domain.labels import (
    CONFIRMED,
    OVERTURNED,
    UNDECIDED,
    OutcomeCounts,
    day_outcomes,
)
from labelbench.services.workspace import Workspace


def status(ws: Workspace) -> dict[str, Any]:
    """A JSON-ready summary (the `status --json` interface)."""
    with ws.transaction(readonly=True) as session:
        per_country = labellog.country_counts(session)
        events = labellog.label_events(session, ordered=False)  # day_outcomes orders
        labelled = {
            int(r.id): (str(r.country), int(r.incident_label), bool(r.candidate_only))
            for r in session.execute(
                select(
                    Sample.id, Sample.country, Sample.incident_label, Sample.candidate_only
                ).where(Sample.id.in_(select(Label.sample_id)))
            )
        }
        production = session.scalar(select(ModelRun.id).where(ModelRun.alias == "production"))
        evidence_rows = int(session.scalar(select(func.count()).select_from(Evidence)) or 0)
        incidents = int(session.scalar(select(func.count()).select_from(Incident)) or 0)
        samples = int(
            session.scalar(
                select(func.count()).select_from(Sample).where(Sample.candidate_only.is_(False))
            )
            or 0
        )
        candidate_days = int(
            session.scalar(
                select(func.count()).select_from(Sample).where(Sample.candidate_only.is_(True))
            )
            or 0
        )
        human_labels = int(
            session.scalar(
                select(func.count()).select_from(Label).where(Label.event != "retraction")
            )
            or 0
        )
        revision = migrate.current_revision(session.connection())
    days = day_outcomes(events, {sid: k for sid, (_, k, _) in labelled.items()})
    outcomes: dict[str, list[str]] = {}
    held_back: dict[str, int] = {}  # incident-positive samples an analyst left undecided
    # incident days below the sample rule are no incident-derived training rows: overturning
    # one takes nothing away (undo the subtraction below), confirming one adds a positive
    adjust: dict[str, int] = {}
    for sid, day in days.items():
        country, incident, candidate = labelled[sid]
        outcomes.setdefault(country, []).append(day.outcome)
        if not candidate and day.outcome == UNDECIDED and incident:
            held_back[country] = held_back.get(country, 0) + 1
        if candidate and incident and day.outcome in (CONFIRMED, OVERTURNED):
            adjust[country] = adjust.get(country, 0) + 1
    rows: list[dict[str, Any]] = []
    for country, n, incident_pos, n_labels, n_candidates in per_country:
        c = OutcomeCounts.of(outcomes.get(country, []))
        undecided = held_back.get(country, 0)
        rows.append(
            {
                "country": country,
                "samples": n,
                "candidates": n_candidates,
                "positives": incident_pos
                - c.overturned
                - undecided
                + c.new_positives
                + adjust.get(country, 0),
                "incident_positives": incident_pos,
                "human_labels": n_labels,
                "new_positives": c.new_positives,
                "confirmed": c.confirmed,
                "overturned": c.overturned,
                "undecided_incident_positives": undecided,
            }
        )

    def total(key: str) -> int:
        return sum(int(r[key]) for r in rows)

    return {
        "database": ws.settings.safe_database_url,
        "schema_revision": revision,
        "countries": len(rows),
        "samples": samples,
        "candidate_days": candidate_days,
        "positives": total("positives"),
        "incident_positives": total("incident_positives"),
        "new_positives": total("new_positives"),
        "confirmed": total("confirmed"),
        "overturned": total("overturned"),
        "undecided_incident_positives": total("undecided_incident_positives"),
        "evidence_rows": evidence_rows,
        "incidents": incidents,
        "human_labels": human_labels,
        "production_model": production,
        "per_country": rows,
    }
