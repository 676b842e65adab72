"""Data loading for `labelbench report weekly|batch`: one read-only transaction, plain frames out.

Everything the report needs is read in a single ``readonly`` transaction so the figures are one
consistent snapshot (an analyst labelling meanwhile cannot make the week's totals disagree with
its per-country rows); the retrain reports (``metrics.json`` beside each bundle) are read after
the transaction closes. All arithmetic lives in :mod:`labelbench.reports` (``weekly`` and
``batch``); the scope is :func:`labelbench.services.queue.target_countries` (the priority
countries unless widened), like every other command's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelbench.db import queries
from labelbench.db.models import Label, LabelBatch, ModelRun, QueueBuild, QueueItem, Sample
from labelbench.reports.batch import build_batch_report
from labelbench.reports.isoweek import IsoWeek, resolve_week
from labelbench.reports.metrics import (
    BATCH_COLUMNS,
    LABEL_COLUMNS,
    QUEUE_ITEM_COLUMNS,
    RunInfo,
    WeeklyData,
)
from labelbench.reports.weekly import WeeklyOptions, build_weekly_report
from labelbench.services.queue import target_countries
from labelbench.services.runs import run_metrics
from labelbench.services.workspace import Workspace


def _rows(session: Session, stmt: Any, columns: Sequence[str]) -> pd.DataFrame:
    rows = session.execute(stmt).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def load_weekly_data(
    ws: Workspace, countries: Sequence[str] | None = None, *, scoped: bool = True
) -> WeeklyData:
    """The label log, queue links, builds, batches, runs and the scope in one snapshot.

    ``countries`` are codes and scope keywords (:mod:`labelbench.domain.scope`); none means the
    priority countries; ``scoped=False`` skips the scope (the batch report needs none). The
    label log is loaded for every country so an empty week can say where the labels are.
    """
    settings = ws.settings
    with ws.transaction(readonly=True) as session:
        counts = queries.per_country_counts(session)
        present = set(counts["country"])
        # An empty database has an empty report, not an error.
        wanted = (
            target_countries(session, settings, countries)
            if scoped and (countries or present)
            else []
        )
        targets = [c for c in settings.priority_countries if c in present]
        labels = _rows(
            session,
            select(
                Label.id,
                Label.sample_id,
                Sample.country,
                Sample.incident_label,
                Label.verdict,
                Label.event,
                Label.analyst,
                Label.batch_id,
                LabelBatch.status,
                Label.created_at,
                Label.seconds_spent,
                Label.retracts_id,
            )
            .join(Sample, Sample.id == Label.sample_id)
            .outerjoin(LabelBatch, LabelBatch.id == Label.batch_id)
            .order_by(Label.created_at, Label.id),
            LABEL_COLUMNS,
        )
        items = _rows(
            session,
            select(
                QueueItem.label_id, QueueItem.build_id, QueueItem.purpose, QueueItem.expected_p
            ).where(QueueItem.label_id.is_not(None)),
            QUEUE_ITEM_COLUMNS,
        )
        builds = {
            int(b.id): {
                "strategy": b.strategy,
                "model_run_id": b.model_run_id,
                "created_at": b.created_at,
                "pool": dict((b.params or {}).get("pool") or {}),
            }
            for b in session.scalars(select(QueueBuild))
        }
        batches = _rows(
            session,
            select(
                LabelBatch.id,
                LabelBatch.analyst,
                LabelBatch.started_at,
                LabelBatch.closed_at,
                LabelBatch.countries,
                LabelBatch.strategy,
                LabelBatch.status,
            ).order_by(LabelBatch.id),
            BATCH_COLUMNS,
        )
        run_rows = [
            (
                r.id,
                r.created_at,
                r.alias,
                r.gates_passed,
                list(r.label_batches or []),
                r.bundle_path,  # relative to the models store
            )
            for r in session.scalars(select(ModelRun).order_by(ModelRun.created_at))
        ]
    runs = []
    for run_id, created_at, alias, gates, label_batches, bundle_path in run_rows:
        metrics, note = run_metrics(ws.settings, bundle_path)
        runs.append(
            RunInfo(
                run_id, created_at, alias, gates, [int(b) for b in label_batches], metrics, note
            )
        )
    return WeeklyData(
        labels=labels,
        queue_items=items,
        builds=builds,
        batches=batches,
        runs=runs,
        targets=targets,
        countries=wanted,
        goal=settings.queue.goal_new_positives,
        watch_list=list(settings.watch_list),
        target_threshold=settings.queue.target_positive_threshold,
        incident_positives={
            str(c): int(k)
            for c, k in zip(counts["country"], counts["incident_positives"], strict=True)
        },
    )


def weekly_report(
    ws: Workspace,
    *,
    week: str | IsoWeek | None = None,
    countries: Sequence[str] | None = None,
    options: WeeklyOptions | None = None,
    now: dt.datetime | None = None,
    last_week: bool = False,
) -> dict[str, Any]:
    """The weekly report dict (see :func:`labelbench.reports.weekly.build_weekly_report`)."""
    iso = week if isinstance(week, IsoWeek) else resolve_week(week, now, last_week=last_week)
    data = load_weekly_data(ws, countries)
    return build_weekly_report(data, iso, options, generated_at=now)


def batch_report(ws: Workspace, batch_id: int) -> dict[str, Any]:
    """What one labelling batch contained and did (NotFoundError for an unknown batch)."""
    return build_batch_report(load_weekly_data(ws, scoped=False), batch_id)
