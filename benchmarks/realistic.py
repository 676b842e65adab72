"""Realistic starting state for the labelling benchmarks: a production model and a long label log.

A benchmark that starts from an empty label log cannot see work that grows with the log (the
review found a progress refresh that read the whole log per keypress). `seed_label_log` writes a
log of N events the way months of labelling would leave it: closed batches of several analysts,
most decisions on the mission's countries and the watch list, many days seen by several analysts.
Events are written straight into the tables (the product never does this; it is setup only).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from labelbench.db import queries
from labelbench.db.models import Label, LabelBatch, Sample
from labelbench.db.statistics import known_tables, refresh_statistics
from labelbench.services.workspace import Workspace

ANALYSTS = ("amal", "bilal", "chen", "dana", "elif", "farid")
BATCH_EVENTS = 250
UNTOUCHED = 0.4
"""Share of days the seeded log leaves unlabelled, so the queue still has work."""


def seed_label_log(ws: Workspace, events: int, *, seed: int = 0) -> int:
    """Append ``events`` label events (closed batches) unless the log already holds that many."""
    try:
        return _seed(ws, events, seed)
    finally:
        # A database used for months has been analysed by autovacuum; a bulk load has not
        # (nor has a world built by an older labelbench): ANALYZE samples rows, so it is cheap.
        refresh_statistics(ws.engine, known_tables())


def _seed(ws: Workspace, events: int, seed: int) -> int:
    with ws.transaction() as session:
        have = int(session.scalar(select(func.count()).select_from(Label)) or 0)
        if have >= events:
            return have
        samples = pd.DataFrame(
            session.execute(select(Sample.id, Sample.country, Sample.fingerprint)).all(),
            columns=["id", "country", "fingerprint"],
        )
        watch = set(ws.settings.watch_list) | set(ws.settings.priority_countries)
        rng = np.random.default_rng(seed)
        weight = np.where(samples["country"].isin(watch), 8.0, 1.0)
        weight[rng.random(len(samples)) < UNTOUCHED] = 0.0  # days still waiting for a label
        todo = events - have
        n_batches = -(-todo // BATCH_EVENTS)
        start = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)
        batches = []
        for b in range(n_batches):
            opened = start + dt.timedelta(hours=6 * b)
            batches.append(
                LabelBatch(
                    analyst=ANALYSTS[b % len(ANALYSTS)],
                    started_at=opened,
                    closed_at=opened + dt.timedelta(hours=2),
                    countries=sorted(watch),
                    strategy="hybrid",
                    status="closed",
                )
            )
        session.add_all(batches)
        session.flush()
        picks = rng.choice(len(samples), size=todo, p=weight / weight.sum())
        batch_of = np.repeat([b.id for b in batches], BATCH_EVENTS)[:todo]
        analyst_of = np.repeat([b.analyst for b in batches], BATCH_EVENTS)[:todo]
        created = start + pd.to_timedelta(np.arange(todo) * 25, unit="s")
        frame = pd.DataFrame(
            {
                "sample_id": samples["id"].to_numpy()[picks],
                "verdict": rng.choice(
                    ["positive", "negative", "unsure", "skip"], size=todo, p=[0.2, 0.65, 0.1, 0.05]
                ),
                "event": "decision",
                "analyst": analyst_of,
                "batch_id": batch_of,
                "created_at": created,
                "note": None,
                "citation_url": None,
                "evidence_fingerprint": samples["fingerprint"].to_numpy()[picks],
                "seconds_spent": rng.gamma(2.0, 12.0, size=todo),
                "retracts_id": None,
            }
        )
        queries.insert_frame(session, Label.__table__, frame)
    return events
