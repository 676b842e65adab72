"""The active-learning queue: which country-days analysts should look at next, and why.

`build_queue` takes the candidate pool of the target countries (every unlabelled country-day with
evidence, candidate days below the sample rule included), and plans a batch with
:func:`labelbench.ml.batching.plan_batch`: discovery of new positives scored by a strategy from
:mod:`labelbench.ml.strategies` and picked by :mod:`labelbench.ml.selection` (quotas, episode
collapse, near-duplicates, stopping, exhaustive review of tiny pools), plus a small share of
incident confirmations. `labelbench simulate` replays the same function. Items are stored as
queue items that the labelling app claims one at a time. Building again withdraws the earlier
build's unclaimed items for the same countries, so analysts always work from the newest ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labelbench.config import Settings
from labelbench.db import queries
from labelbench.db.models import QueueBuild, QueueItem, Sample
from labelbench.domain.labels import standing_decisions
from labelbench.domain.scope import ScopeSets, expand_scope
from labelbench.errors import InputError
from labelbench.ml.batching import plan_batch
from labelbench.ml.selection import stopping_signal
from labelbench.ml.strategies import get_strategy
from labelbench.services.labels import training_frame
from labelbench.services.predict import Predictor, attach_predictions
from labelbench.services.workspace import Workspace


@dataclass(frozen=True)
class QueueBuildReport:
    """What one build queued."""

    build_id: int
    strategy: str
    countries: list[str]
    pool: int
    queued: int
    second_opinions: int
    withdrawn: int
    model_run_id: str | None
    per_country: dict[str, int]
    exhausted: dict[str, str]
    exhaustive: dict[str, int]
    """Countries whose whole remaining pool was queued (pool <= quota): days left."""
    confirmations: int = 0
    """Items that confirm incident-positive days (the rest look for new positives)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def target_countries(
    session: Session, settings: Settings, countries: Sequence[str] | None = None
) -> list[str]:
    """The countries a command works on: codes and scope keywords (see :mod:`domain.scope`).

    Nothing given means the configured priority countries. Unknown codes are an error; countries
    without samples are dropped (an error when none is left).
    """
    known = queries.country_codes(session)
    per_country = queries.per_country_counts(session)
    with_samples = set(per_country["country"])
    k = settings.queue.target_positive_threshold
    sets = ScopeSets(
        priority=settings.priority_countries,
        watch=settings.watch_list,
        sparse=per_country.loc[per_country["incident_positives"] < k, "country"].tolist(),
        every=sorted(with_samples),
    )
    wanted = expand_scope(countries, sets)
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InputError(f"unknown country code(s): {', '.join(unknown)}")
    present = sorted(c for c in wanted if c in with_samples)
    if not present:
        raise InputError(
            f"no samples for {', '.join(wanted)}; run `labelbench features build`"
            if wanted
            else "no countries with samples; run `labelbench features build`"
        )
    return present


def candidate_pool(session: Session, countries: Sequence[str]) -> pd.DataFrame:
    """Unlabelled candidate days of the targets (samples included) plus re-reviews."""
    frame = training_frame(session, countries=list(countries), include_candidates=True)
    pool = frame[frame["human_verdict"].isna() | frame["rereview"]].copy()
    return pool.rename(columns={"id": "sample_id"}).reset_index(drop=True)


def _history(session: Session, countries: Sequence[str]) -> pd.DataFrame:
    """Standing decisions (not undone, not in reverted batches) of the targets, oldest first."""
    standing = standing_decisions(queries.label_events(session))
    country_of = dict(
        session.execute(
            select(Sample.id, Sample.country).where(
                Sample.id.in_([e.sample_id for e in standing]), Sample.country.in_(countries)
            )
        ).all()
    )
    return pd.DataFrame.from_records(
        [
            (country_of[e.sample_id], e.verdict, e.created_at)
            for e in standing
            if e.sample_id in country_of
        ],
        columns=["country", "verdict", "labelled_at"],
    )


def _prediction_drift(ws: Workspace, pool: pd.DataFrame) -> pd.DataFrame | None:
    """The pool's probabilities under the previous and the current production model.

    When labels stop moving a country's predictions, more labels there are unlikely to help:
    the stopping signal then moves that country's quota to countries still paying off. Both
    sides are what each run would serve: its out-of-fold probability for the days it trained
    on (in-sample ones mostly echo the training label, so they would look stable whatever the
    labels did), the model's own for the rest.
    """
    from labelbench.services.registry import previous_production

    if pool.empty or pool["proba"].isna().all():
        return None
    previous = previous_production(ws)
    if previous is None:
        return None
    prev = Predictor(previous.run_id, previous.model, previous.thresholds, previous.oof)
    return pd.DataFrame(
        {
            "country": pool["country"].to_numpy(),
            "proba_prev": prev.predict_frame(pool)["proba"].to_numpy(),
            "proba_curr": pool["proba"].to_numpy(),
        }
    )


def _pool_stats(pool: pd.DataFrame) -> dict[str, dict[str, float | int | None]]:
    """Per country: pool size, mean model probability and incident-positive share.

    Stored with the build so reports can say what random sampling from the same pool would
    have yielded (pool size x mean probability), beside what the queue actually found.
    """
    stats: dict[str, dict[str, float | int | None]] = {}
    for country, group in pool.groupby("country"):
        p = group["proba"].astype(float)
        unmarked = p[group["incident_label"].astype(int) == 0]
        stats[str(country)] = {
            "n": len(group),
            "mean_p": None if p.isna().all() else round(float(p.mean()), 6),
            "incident_rate": round(float(group["incident_label"].mean()), 6),
            # expected new positives per day drawn at random (days no incident marked)
            "new_p": None if p.isna().all() else round(float(unmarked.sum()) / len(group), 6),
        }
    return stats


def build_queue(
    ws: Workspace,
    *,
    actor: str,
    countries: Sequence[str] | None = None,
    strategy: str | None = None,
    size: int | None = None,
    seed: int = 0,
) -> QueueBuildReport:
    """Score, select and store one batch of queue items (one transaction)."""
    settings = ws.settings
    strategy = strategy or settings.queue.strategy
    get_strategy(strategy)  # unknown names fail before any work
    size = size or settings.queue.batch_size
    if size < 1:
        raise InputError("queue size must be at least 1")
    rng = np.random.default_rng(seed)
    with ws.transaction() as session:
        targets = target_countries(session, settings, countries)
        if not targets:
            raise InputError("no target countries have samples; run `labelbench features build`")
        pool = candidate_pool(session, targets)
        busy = set(
            session.scalars(select(QueueItem.sample_id).where(QueueItem.status.in_(("claimed",))))
        )
        pool = pool[~pool["sample_id"].isin(busy)].reset_index(drop=True)
        pool, model_run_id = attach_predictions(ws, pool)
        training = training_frame(session)
        positive_counts = {
            str(c): int(v)
            for c, v in (training["label"] == 1).groupby(training["country"]).sum().items()
        }
        positives = training[training["label"] == 1]
        stopping = stopping_signal(
            _history(session, targets),
            predictions=_prediction_drift(ws, pool),
            window=settings.queue.stop_window,
            min_yield=settings.queue.stop_min_yield,
        )
        batch = plan_batch(
            pool,
            strategy=strategy,
            size=size,
            rng=rng,
            exploration_share=settings.queue.exploration_share,
            confirm_share=settings.queue.confirm_share,
            stopping=stopping,
            positive_counts=positive_counts,
            positives=positives,
        )
        withdrawn = session.execute(
            update(QueueItem)
            .where(QueueItem.status.in_(("pending", "waiting")), QueueItem.country.in_(targets))
            .values(status="withdrawn")
        ).rowcount  # type: ignore[attr-defined]
        build = QueueBuild(
            created_by=actor,
            strategy=strategy,
            countries=list(targets),
            size=size,
            model_run_id=model_run_id,
            params={
                "seed": seed,
                "exploration_share": settings.queue.exploration_share,
                "pool": _pool_stats(pool),
            },
        )
        session.add(build)
        session.flush()
        expected = pool.set_index("sample_id")["proba"]
        items = []
        n_second = 0
        share = settings.queue.double_label_share
        for row in batch.itertuples(index=False):
            p = expected.get(row.sample_id)
            base = {
                "build_id": build.id,
                "sample_id": int(row.sample_id),
                "country": str(row.country),
                "strategy": str(row.strategy),
                "scorer": str(row.scorer),
                "score": float(row.score),
                "rank": int(row.rank),
                "country_quota": int(row.country_quota),
                "reason": str(row.reason),
                "expected_p": None if p is None or pd.isna(p) else float(p),
            }
            items.append({**base, "purpose": "primary", "status": "pending"})
            if share > 0 and rng.random() < share:
                items.append({**base, "purpose": "second_opinion", "status": "waiting"})
                n_second += 1
        if items:
            queries.bulk_insert(session, QueueItem.__table__, items)
        per_country = batch.groupby("country").size().to_dict() if len(batch) else {}
        return QueueBuildReport(
            build_id=build.id,
            strategy=strategy,
            countries=list(targets),
            pool=len(pool),
            queued=len(batch),
            second_opinions=n_second,
            withdrawn=int(withdrawn or 0),
            model_run_id=model_run_id,
            per_country={str(k): int(v) for k, v in per_country.items()},
            exhausted=dict(batch.attrs.get("exhausted", {})),
            exhaustive={
                str(c): int(n)
                for c, n in batch[batch["scorer"] == "exhaustive"].groupby("country").size().items()
            },
            confirmations=int((batch["purpose"] == "confirm").sum()) if len(batch) else 0,
        )


def queue_frame(ws: Workspace, *, include_done: bool = False) -> pd.DataFrame:
    """Current queue items with their sample's country and day (see :func:`queue_rows`)."""
    from labelbench.services.queue_view import QueueRow, queue_rows

    rows = [r.to_dict() for r in queue_rows(ws, include_done=include_done)]
    return pd.DataFrame.from_records(rows, columns=list(QueueRow.__dataclass_fields__))


def pending_count(session: Session, countries: Sequence[str] | None = None) -> int:
    stmt = select(func.count()).select_from(QueueItem).where(QueueItem.status == "pending")
    if countries:
        stmt = stmt.where(QueueItem.country.in_(countries))
    return int(session.scalar(stmt) or 0)
