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
from labelbench.domain.labels import UNDECIDED, OutcomeCounts, day_outcomes
from labelbench.services.workspace import Workspace


def status(ws: Workspace) -> dict[str, Any]:
    """A JSON-ready summary (the `status --json` interface)."""
    with ws.transaction(readonly=True) as session:
        per_country = labellog.country_counts(session)
        events = labellog.label_events(session)
        labelled = {
            int(r.id): (str(r.country), int(r.incident_label))
            for r in session.execute(
                select(Sample.id, Sample.country, Sample.incident_label).where(
                    Sample.id.in_(select(Label.sample_id))
                )
            )
        }
        production = session.scalar(select(ModelRun.id).where(ModelRun.alias == "production"))
        evidence_rows = int(session.scalar(select(func.count()).select_from(Evidence)) or 0)
        incidents = int(session.scalar(select(func.count()).select_from(Incident)) or 0)
        samples = int(session.scalar(select(func.count()).select_from(Sample)) or 0)
        human_labels = int(
            session.scalar(
                select(func.count()).select_from(Label).where(Label.event != "retraction")
            )
            or 0
        )
        revision = migrate.current_revision(ws.engine)
    days = day_outcomes(events, {sid: k for sid, (_, k) in labelled.items()})
    outcomes: dict[str, list[str]] = {}
    held_back: dict[str, int] = {}  # incident-positive days an analyst left undecided
    for sid, day in days.items():
        country, incident = labelled[sid]
        outcomes.setdefault(country, []).append(day.outcome)
        if day.outcome == UNDECIDED and incident:
            held_back[country] = held_back.get(country, 0) + 1
    rows: list[dict[str, Any]] = []
    for country, n, incident_pos, n_labels in per_country:
        c = OutcomeCounts.of(outcomes.get(country, []))
        undecided = held_back.get(country, 0)
        rows.append(
            {
                "country": country,
                "samples": n,
                "positives": incident_pos - c.overturned - undecided + c.new_positives,
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
