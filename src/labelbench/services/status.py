"""`labelbench status`: what is in the database, overall and per country."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labelbench.db import migrate, queries
from labelbench.db.models import Evidence, Incident, Label, ModelRun
from labelbench.services.labels import training_frame
from labelbench.services.workspace import Workspace


def status(ws: Workspace) -> dict[str, Any]:
    """A JSON-ready summary (the `status --json` interface)."""
    with ws.transaction(readonly=True) as session:
        per_country = queries.per_country_counts(session)
        frame = training_frame(session)
        positives = frame.groupby("country")["label"].apply(lambda s: int((s == 1).sum()))
        production = session.scalar(select(ModelRun.id).where(ModelRun.alias == "production"))
        result: dict[str, Any] = {
            "database": ws.settings.safe_database_url,
            "schema_revision": migrate.current_revision(ws.engine),
            "countries": len(per_country),
            "samples": queries.count_samples(session),
            "candidate_days": queries.count_samples(session, candidates=True),
            "positives": int((frame["label"] == 1).sum()),
            "incident_positives": int(frame["incident_label"].sum()) if len(frame) else 0,
            "evidence_rows": queries.count(session, Evidence),
            "incidents": queries.count(session, Incident),
            "human_labels": int(
                session.scalar(
                    select(func.count()).select_from(Label).where(Label.event != "retraction")
                )
                or 0
            ),
            "production_model": production,
            "per_country": [
                {
                    "country": row.country,
                    "samples": int(row.samples),
                    "positives": int(positives.get(row.country, 0)),
                    "incident_positives": int(row.incident_positives),
                    "human_labels": int(row.human_labels),
                    "candidates": int(row.candidates),
                }
                for row in per_country.itertuples()
            ],
        }
    return result
