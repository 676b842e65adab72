"""Label metrics from the label-log frame: the figures the weekly and batch reports share.

Every rule about *which* events count and *what* a labelled day contributed lives in
:mod:`labelbench.domain.labels` (standing decisions, effective labels, outcomes); this module
only applies those rules to frames and adds up slices (a week, the cumulative log, a batch):

* a **label** is a *standing decision* (domain rules 1-2): not undone, not in a reverted batch.
* a labelled day's **outcome** (domain :func:`~labelbench.domain.labels.day_outcomes`):
  *new positive* (effective label positive, incident label 0), *confirmed* (positive on an
  incident-positive day), *overturned* (negative on an incident-positive day). A week counts the
  days whose latest standing event falls in it, with their outcome as of the week's end.
* **yield** = labels that found a new positive (a positive decision on a day no incident marked)
  / labels, with a 95% Wilson interval; **lift** compares the same count with random sampling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labelbench.domain.labels import (
    CONFIRMED,
    NEW_POSITIVE,
    OVERTURNED,
    LabelEvent,
    day_outcomes,
    outcome,
    standing_decisions,
)
from labelbench.reports.render import iso
from labelbench.reports.stats import AgreementTable, wilson_interval

#: Columns the label-log frame must have (one row per label-log event).
LABEL_COLUMNS = (
    "label_id",
    "sample_id",
    "country",
    "incident_label",
    "verdict",
    "event",
    "analyst",
    "batch_id",
    "batch_status",
    "created_at",
    "seconds_spent",
    "retracts_id",
)
QUEUE_ITEM_COLUMNS = ("label_id", "build_id", "purpose", "expected_p")
BATCH_COLUMNS = (
    "batch_id",
    "analyst",
    "started_at",
    "closed_at",
    "countries",
    "strategy",
    "status",
)
#: The outcome counts every report row carries (the ``--format json`` interface).
OUTCOME_KEYS = ("new_positives", "confirmed", "overturned")
INTERVAL_METHOD = "Wilson score, 95%"

DEFINITIONS: dict[str, str] = {
    "label": (
        "a standing decision: a decision event not undone (retracted) and not in a reverted "
        "batch, counted in the ISO week (Mon 00:00 UTC to Mon 00:00 UTC) of its time; a second "
        "analyst's opinion on the same day is a second label; adjudications are not labels"
    ),
    "new_positives": (
        "days no incident marked (incident label 0) whose effective label is positive; a week "
        "counts the days whose latest standing event falls in it, as they stood at its end"
    ),
    "confirmed": "incident-positive days an analyst's effective label agrees with",
    "overturned": "incident-positive days whose effective label is negative",
    "yield": (
        "labels that found a new positive (a positive decision on a day with incident label 0) "
        "/ labels; interval: Wilson score 95%"
    ),
    "expected_positives": "sum of the model probability (expected_p) of the queue items labelled",
    "random_expected_positives": (
        "what labelling as many days at random from the same candidate pool would have found: "
        "queued labels x the pool's new positives per day under the build's model (its "
        "probabilities of days no incident marked / pool size); none when the build had no "
        "model, as random sampling's new-positive rate is then unknown"
    ),
    "lift": "labels from the queue that found a new positive / random_expected_positives",
    "cumulative": "all weeks up to and including the report week",
    "agreement": (
        "days with standing decisions from two analysts (each analyst's latest; the first two "
        "analysts); only positive/negative pairs enter the statistics; a pair belongs to the "
        "week its second decision was made"
    ),
}


@dataclass(frozen=True)
class RunInfo:
    """A model run and its retrain report (``metrics.json``), None when that file is unreadable."""

    run_id: str
    created_at: dt.datetime
    alias: str | None
    gates_passed: bool | None
    label_batches: list[int]
    metrics: dict[str, Any] | None
    metrics_note: str | None = None


@dataclass
class WeeklyData:
    """Everything the reports need, loaded by :mod:`labelbench.services.weekly` in one read."""

    labels: pd.DataFrame
    """The whole label log (every country), :data:`LABEL_COLUMNS` (created_at tz-aware UTC)."""
    queue_items: pd.DataFrame
    """Queue items that were finished by a label, :data:`QUEUE_ITEM_COLUMNS`."""
    builds: dict[int, dict[str, Any]]
    """build id -> {strategy, model_run_id, created_at, pool: {country: {n, mean_p, ...}}}."""
    batches: pd.DataFrame
    """Labelling batches, :data:`BATCH_COLUMNS`."""
    runs: list[RunInfo]
    targets: list[str]
    """The mission's countries (the configured priority countries that have samples)."""
    countries: list[str] | None = None
    """Countries in the report (None: the targets)."""
    goal: int = 25
    watch_list: list[str] = field(default_factory=list)
    target_threshold: int = 15
    incident_positives: dict[str, int] = field(default_factory=dict)


def empty_labels() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LABEL_COLUMNS})


def label_frame(labels: pd.DataFrame) -> pd.DataFrame:
    """The label log with checked columns, UTC times and string country codes."""
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"label frame lacks columns: {', '.join(missing)}")
    df = labels.loc[:, list(LABEL_COLUMNS)].copy()
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["country"] = df["country"].astype(str)
    return df


def log_events(df: pd.DataFrame, *, include_reverted: bool = False) -> list[LabelEvent]:
    """The frame's rows as domain events (``include_reverted`` ignores batch reverts)."""
    return [
        LabelEvent(
            id=int(r.label_id),
            sample_id=int(r.sample_id),
            verdict=str(r.verdict),
            event=str(r.event),
            analyst=str(r.analyst),
            created_at=r.created_at.to_pydatetime(),
            evidence_fingerprint="",
            retracts_id=None if pd.isna(r.retracts_id) else int(r.retracts_id),
            reverted=not include_reverted and r.batch_status == "reverted",
            batch_id=None if pd.isna(r.batch_id) else int(r.batch_id),
        )
        for r in df.itertuples(index=False)
    ]


def _pool_rate(build: dict[str, Any] | None, country: str) -> tuple[float | None, str | None]:
    """New positives a randomly drawn day of the build's pool was expected to give.

    Builds record ``new_p`` (model probabilities of the pool's days no incident marked, over
    the pool size); older builds only ``mean_p``, which also counts incident-marked days. A
    build without a model has no such expectation: random sampling's new-positive rate is
    unknown, so there is no baseline (the incident rate counts days already marked).
    """
    pool = ((build or {}).get("pool") or {}).get(country)
    if not pool:
        return None, None
    if pool.get("new_p") is not None:
        return float(pool["new_p"]), "model"
    if pool.get("mean_p") is not None:
        return float(pool["mean_p"]), "model_all_days"
    return None, None


def decisions_frame(data: WeeklyData, *, include_reverted: bool = False) -> pd.DataFrame:
    """Standing decisions (domain rules), each with its outcome as a label, its queue item,
    expected_p and random rate."""
    df = label_frame(data.labels)
    keep = {e.id for e in standing_decisions(log_events(df, include_reverted=include_reverted))}
    out = df[df["label_id"].astype(int).isin(keep)].copy()
    items = data.queue_items.loc[:, list(QUEUE_ITEM_COLUMNS)].drop_duplicates("label_id")
    out = out.merge(items, on="label_id", how="left")
    out["outcome"] = [
        outcome(str(v), int(k)) for v, k in zip(out["verdict"], out["incident_label"], strict=True)
    ]
    rates = [
        _pool_rate(data.builds.get(int(b)) if pd.notna(b) else None, c)
        for b, c in zip(out["build_id"], out["country"], strict=True)
    ]
    out["random_p"] = pd.to_numeric(pd.Series([r for r, _ in rates], dtype=object))
    out["random_basis"] = [b for _, b in rates]
    for col in ("expected_p", "random_p", "seconds_spent"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out.sort_values(["created_at", "label_id"], kind="stable").reset_index(drop=True)


def outcomes_frame(
    df: pd.DataFrame, *, until: dt.datetime | None = None, batch_id: int | None = None
) -> pd.DataFrame:
    """One row per labelled day: ``sample_id, country, outcome, settled_at`` (domain rules)."""
    incident = dict(zip(df["sample_id"].astype(int), df["incident_label"].astype(int), strict=True))
    country = dict(zip(df["sample_id"].astype(int), df["country"], strict=True))
    days = day_outcomes(log_events(df), incident, until=until, batch_id=batch_id)
    return pd.DataFrame(
        [(sid, country[sid], d.outcome, pd.Timestamp(d.settled_at)) for sid, d in days.items()],
        columns=["sample_id", "country", "outcome", "settled_at"],
    )


def outcome_counts(days: pd.DataFrame) -> dict[str, int]:
    """``new_positives``, ``confirmed`` and ``overturned`` of a frame of labelled days."""
    found = days["outcome"].value_counts() if len(days) else pd.Series(dtype=int)
    return {
        key: int(found.get(kind, 0))
        for key, kind in zip(OUTCOME_KEYS, (NEW_POSITIVE, CONFIRMED, OVERTURNED), strict=True)
    }


def _basis(bases: Iterable[Any]) -> str | None:
    found = {b for b in bases if isinstance(b, str)}
    if not found:
        return None
    if found == {"model"}:
        return "model: new-positive rate of the pool"
    if found == {"model_all_days"}:
        return "model mean_p of the pool (older builds: counts incident-marked days too)"
    return "model (older builds count incident-marked days too)"


def label_metrics(df: pd.DataFrame) -> dict[str, Any]:
    """The per-slice label figures (week, cumulative, batch) of a frame of standing decisions."""
    n = len(df)
    found = int((df["outcome"] == NEW_POSITIVE).sum())
    ci = wilson_interval(found, n)
    seconds = df["seconds_spent"].dropna()
    queued = df[df["build_id"].notna()]
    with_expected = df["expected_p"].dropna()
    with_random = df.loc[df["random_p"].notna()]
    random_total = float(with_random["random_p"].sum()) if len(with_random) else None
    found_random = int((with_random["outcome"] == NEW_POSITIVE).sum())
    return {
        "labels": n,
        "samples": int(df["sample_id"].nunique()),
        "positives": int((df["verdict"] == "positive").sum()),
        "new_positive_labels": found,
        "yield": found / n if n else None,
        "yield_ci": list(ci) if ci else None,
        "unsure_rate": float((df["verdict"] == "unsure").sum() / n) if n else None,
        "skip_rate": float((df["verdict"] == "skip").sum() / n) if n else None,
        "median_seconds": float(seconds.median()) if len(seconds) else None,
        "analysts": int(df["analyst"].nunique()),
        "analyst_names": sorted(str(a) for a in df["analyst"].unique()),
        "queued_labels": len(queued),
        "expected_positives": float(with_expected.sum()) if len(with_expected) else None,
        "expected_covered": len(with_expected),
        "random_expected_positives": random_total,
        "random_covered": len(with_random),
        "random_basis": _basis(with_random["random_basis"]),
        "lift_vs_random": (found_random / random_total) if random_total else None,
    }


def since_last_new_positive(df: pd.DataFrame) -> tuple[int, str | None]:
    """Labels since the last one that found a new positive, and when that one was made."""
    found = (df["outcome"] == NEW_POSITIVE).tolist()
    for back, hit in enumerate(reversed(found)):
        if hit:
            return back, iso(df["created_at"].iloc[len(found) - 1 - back])
    return len(found), None


def agreement_pairs(decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per double-labelled day: the first two analysts' latest standing verdicts.

    Columns ``sample_id, country, first, second, paired_at`` (``paired_at`` = when the second
    opinion was given).
    """
    cols = ["sample_id", "country", "first", "second", "paired_at"]
    if decisions.empty:
        return pd.DataFrame(columns=cols)
    latest = decisions.sort_values(["created_at", "label_id"]).drop_duplicates(
        ["sample_id", "analyst"], keep="last"
    )
    latest = latest[latest.groupby("sample_id")["analyst"].transform("size") >= 2]
    rows = []
    for sid, group in latest.groupby("sample_id"):
        g = group.sort_values(["created_at", "label_id"]).iloc[:2]
        first, second = g.iloc[0], g.iloc[1]
        rows.append(
            (sid, first["country"], first["verdict"], second["verdict"], second["created_at"])
        )
    return pd.DataFrame(rows, columns=cols)


def agreement_summary(
    pairs: pd.DataFrame, countries: Sequence[str], min_pairs: int
) -> dict[str, Any]:
    """Overall and per-country agreement (per country only with ``min_pairs`` binary pairs)."""
    binary = pairs[
        pairs["first"].isin(("positive", "negative"))
        & pairs["second"].isin(("positive", "negative"))
    ]

    def table(frame: pd.DataFrame) -> dict[str, Any]:
        t = AgreementTable.from_pairs(
            zip(frame["first"] == "positive", frame["second"] == "positive", strict=True)
        )
        return t.to_dict()

    per_country: dict[str, Any] = {}
    too_few: list[str] = []
    for c in countries:
        sub = binary[binary["country"] == c]
        if len(sub) >= min_pairs:
            per_country[c] = table(sub)
        elif len(sub):
            too_few.append(c)
    note = None
    if too_few:
        note = (
            f"overall only for {', '.join(too_few)}: fewer than {min_pairs} double-labelled "
            "positive/negative days each"
        )
    return {
        "double_labelled": len(pairs),
        "excluded_unsure_or_skip": len(pairs) - len(binary),
        "overall": table(binary),
        "per_country": per_country,
        "note": note,
    }
