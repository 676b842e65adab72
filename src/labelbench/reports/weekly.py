"""The weekly per-country report: where analysts found new positives, and what it bought.

The lead reads it to decide where analysts spend next week. It covers the mission's countries
(the configured priority countries unless the caller widens the scope) for one ISO week, by
default the current week to date, and cumulatively; every figure is defined once
(:data:`~labelbench.reports.metrics.DEFINITIONS`, printed with the report) and computed from the
label log as it stands now. Output is a JSON-ready dict (the ``--format json`` interface);
:mod:`labelbench.reports.weekly_render` turns it into text, Markdown, CSV or HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labelbench.errors import InputError
from labelbench.reports.isoweek import IsoWeek
from labelbench.reports.metrics import (
    DEFINITIONS,
    INTERVAL_METHOD,
    RunInfo,
    WeeklyData,
    agreement_pairs,
    agreement_summary,
    decisions_frame,
    label_frame,
    label_metrics,
    outcome_counts,
    outcomes_frame,
    since_last_new_positive,
)
from labelbench.reports.render import iso, jsonable, listing, pct
from labelbench.reports.stats import wilson_interval
from labelbench.reports.values import batch_value


@dataclass(frozen=True)
class WeeklyOptions:
    """Knobs of the weekly report (the CLI exposes them)."""

    low_yield: float = 0.05
    """Recommend stopping when the yield of the last ``window`` labels is below this."""
    window: int = 20
    min_pairs: int = 10
    """Double-labelled days a country needs before its own agreement figures are shown."""
    history_weeks: int = 12
    """Weeks shown in the charts (ending with the report week)."""

    def __post_init__(self) -> None:
        if self.window < 1:
            raise InputError(f"window must be at least 1, got {self.window}")
        if not 0.0 <= self.low_yield <= 1.0:
            raise InputError(f"low-yield threshold must be in [0, 1], got {self.low_yield}")
        if self.min_pairs < 1 or self.history_weeks < 1:
            raise InputError("min-pairs and history-weeks must be at least 1")


def _ci_pair(d: dict[str, Any] | None, low: str = "ci_low", high: str = "ci_high") -> Any:
    if not d or d.get(low) is None or d.get(high) is None:
        return None
    return [d[low], d[high]]


def _run_country_rows(metrics: dict[str, Any], countries: Sequence[str]) -> list[dict[str, Any]]:
    cand = (metrics.get("candidate") or {}).get("per_country", {})
    prod = (metrics.get("production") or {}).get("per_country", {})
    deltas = metrics.get("deltas") or {}
    rows = []
    for c in countries:
        m, p, d = cand.get(c), prod.get(c), deltas.get(c)
        if m is None and p is None:
            continue
        rows.append(
            {
                "country": c,
                "n": (m or p or {}).get("n"),
                "positives": (m or p or {}).get("positives"),
                "production_f1": p.get("f1") if p else None,
                "production_ci": _ci_pair(p),
                "production_small_n": p.get("small_n") if p else None,
                "candidate_f1": m.get("f1") if m else None,
                "candidate_ci": _ci_pair(m),
                "candidate_small_n": m.get("small_n") if m else None,
                "delta": d.get("delta") if d else None,
                "delta_ci": _ci_pair(d),
                "status": d.get("status") if d else None,
            }
        )
    return rows


def attribution_rows(
    metrics: dict[str, Any], countries: Sequence[str], mark: set[int]
) -> list[dict[str, Any]]:
    """Leave-one-batch-out results of a retrain (``mark``: batches flagged ``in_scope``)."""
    rows = []
    for b in metrics.get("batches") or []:
        rows.append(
            {
                "batch_id": b.get("batch_id"),
                "analyst": b.get("analyst"),
                "labels": b.get("labels"),
                "countries": list(b.get("countries") or []),
                "delta_loco_median_f1": b.get("delta_loco_median_f1"),
                "ci": _ci_pair(b),
                "in_scope": b.get("batch_id") in mark,
                "country_deltas": {
                    c: d
                    for c, d in (b.get("country_deltas") or {}).items()
                    if not countries or c in countries
                },
            }
        )
    return rows


def _run_entry(run: RunInfo, countries: Sequence[str], batches: set[int]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "run_id": run.run_id,
        "created_at": iso(run.created_at),
        "alias": run.alias,
        "gates_passed": run.gates_passed,
        "batches_in_scope": sorted(set(run.label_batches) & batches),
        "note": run.metrics_note,
    }
    m = run.metrics
    if m is None:
        entry.update(promoted=None, countries=[], attribution=[], batches_not_attributed=[])
        return entry
    entry.update(
        promoted=m.get("promoted"),
        promotion_reason=m.get("promotion_reason"),
        production_run_id=m.get("production_run_id"),
        loco_median_f1={
            "production": (m.get("production") or {}).get("loco_median_f1"),
            "candidate": (m.get("candidate") or {}).get("loco_median_f1"),
        },
        countries=_run_country_rows(m, countries),
        attribution=attribution_rows(m, countries, batches),
        batches_not_attributed=list(m.get("batches_not_attributed") or []),
    )
    return entry


def _target_reason(c: str, data: WeeklyData) -> str:
    reasons = []
    if c in data.targets:
        reasons.append("priority country")
    if c in data.watch_list:
        reasons.append("watch list")
    k = data.incident_positives.get(c)
    if k is not None and k < data.target_threshold:
        reasons.append(f"{k} incident positives (under {data.target_threshold})")
    return ", ".join(reasons) or "in scope"


def recommendations(
    rows: list[dict[str, Any]], data: WeeklyData, options: WeeklyOptions
) -> list[dict[str, Any]]:
    """Plain-language advice per country, most urgent kinds first."""
    order = {"not_started": 0, "low_yield": 1, "at_target": 2, "continue": 3}
    out = []
    for r in rows:
        c, cum = r["country"], r["cumulative"]
        progress = f"{r['cumulative_new_positives']} of {r['target']} new positives"
        if cum["labels"] == 0:
            action = "not_started"
            text = (
                f"{c}: not started ({_target_reason(c, data)}); no labels yet: give it analyst "
                "time next week."
            )
        elif r["at_target"]:
            action = "at_target"
            text = f"{c}: at target ({progress}); move its analysts to countries below target."
        elif r["recent_yield"] is not None and r["recent_yield"] < options.low_yield:
            action = "low_yield"
            ci = r["recent_yield_ci"]
            text = (
                f"{c}: yield {pct(r['recent_yield'])} over the last {options.window} labels "
                f"(95% CI {pct(ci[0])}-{pct(ci[1])}) is below {pct(options.low_yield)}; "
                f"stop, or switch strategy (e.g. likely_positive or seed). {progress}."
            )
        else:
            action = "continue"
            recent = (
                f"yield {pct(r['recent_yield'])} over the last {options.window} labels"
                if r["recent_yield"] is not None
                else f"fewer than {options.window} labels so far, too early to judge yield"
            )
            text = f"{c}: keep going ({progress}; {recent})."
        out.append({"country": c, "action": action, "message": text})
    return sorted(out, key=lambda x: (order[x["action"]], x["country"]))


def _where_the_labels_are(
    decisions: pd.DataFrame, countries: Sequence[str], week: IsoWeek, now: dt.datetime
) -> dict[str, Any]:
    """For an empty week: the latest week with labels in scope, and this week's labels
    outside the scope (so the reader knows where to look)."""
    end = pd.Timestamp(min(week.end, max(now, week.start)))
    mine = decisions[decisions["country"].isin(countries) & (decisions["created_at"] < end)]
    latest = None
    if len(mine):
        last = IsoWeek.of(mine["created_at"].max().to_pydatetime())
        sl = mine[mine["created_at"] >= pd.Timestamp(last.start)]
        latest = {"week": str(last), "labels": sl["country"].value_counts().sort_index().to_dict()}
    span = decisions[
        (decisions["created_at"] >= pd.Timestamp(week.start))
        & (decisions["created_at"] < pd.Timestamp(week.end))
    ]
    outside = span[~span["country"].isin(countries)]["country"].value_counts()
    return {"latest_week_in_scope": latest, "outside_scope": outside.sort_index().to_dict()}


def _empty_message(week: IsoWeek, countries: Sequence[str], where: dict[str, Any]) -> str:
    if not countries:
        return f"no labels in {week}: no countries with samples yet"
    text = f"no labels in {week} for {listing(list(countries), 8)}"
    latest = where["latest_week_in_scope"]
    if latest:
        found = ", ".join(f"{c} {n}" for c, n in latest["labels"].items())
        text += f"; the latest are in {latest['week']} ({found})"
    outside = where["outside_scope"]
    if outside:
        found = listing([f"{c} {n}" for c, n in outside.items()], 8)
        text += f"; this week's labels are outside the scope: {found} (see --countries)"
    elif not latest:
        text += "; none labelled yet"
    return text


def build_weekly_report(
    data: WeeklyData,
    week: IsoWeek,
    options: WeeklyOptions | None = None,
    *,
    generated_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The weekly report as a JSON-ready dict (the ``--format json`` interface).

    A week that has not ended at ``generated_at`` is reported *to date* (``to_date`` true).
    """
    options = options or WeeklyOptions()
    now = generated_at or dt.datetime.now(dt.UTC)
    start, end = pd.Timestamp(week.start), pd.Timestamp(week.end)
    decisions = decisions_frame(data)
    upto = decisions[decisions["created_at"] < end]
    in_week = upto[upto["created_at"] >= start]
    countries = list(data.countries if data.countries is not None else data.targets)
    log = label_frame(data.labels)
    days = outcomes_frame(log, until=week.end)
    days_in_week = days[days["settled_at"] >= start]
    targets = set(data.targets)

    rows: list[dict[str, Any]] = []
    for c in countries:
        cum = upto[upto["country"] == c]
        wk = in_week[in_week["country"] == c]
        since, last_at = since_last_new_positive(cum)
        recent = cum.tail(options.window)
        full = len(recent) >= options.window
        recent_found = int((recent["outcome"] == "new_positive").sum())
        cum_counts = outcome_counts(days[days["country"] == c])
        row = {"country": c, "is_target": c in targets}
        row.update(label_metrics(wk))
        row.update(outcome_counts(days_in_week[days_in_week["country"] == c]))
        row.update(
            cumulative={**label_metrics(cum), **cum_counts},
            labels_since_last_positive=since,
            last_positive_at=last_at,
            cumulative_new_positives=cum_counts["new_positives"],
            target=data.goal,
            at_target=cum_counts["new_positives"] >= data.goal,
            recent_labels=len(recent),
            recent_yield=recent_found / len(recent) if full else None,
            recent_yield_ci=(
                list(wilson_interval(recent_found, len(recent)) or ()) if full else None
            ),
        )
        rows.append(row)

    scope = in_week[in_week["country"].isin(countries)]
    scoped_days = days[days["country"].isin(countries)]
    pairs = agreement_pairs(upto)
    pairs = pairs[pairs["country"].isin(countries)]
    week_pairs = pairs[pairs["paired_at"] >= start] if len(pairs) else pairs
    batches_in_week = {int(b) for b in scope["batch_id"].dropna()}
    runs = sorted(data.runs, key=lambda r: (r.created_at, r.run_id))
    movement = [
        _run_entry(r, countries, batches_in_week)
        for r in runs
        if set(r.label_batches) & batches_in_week
    ]
    empty = len(scope) == 0
    where = _where_the_labels_are(decisions, countries, week, now) if empty else None
    report = {
        "week": str(week),
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "to_date": week.start <= now < week.end,
        "generated_at": iso(now),
        "scope": countries,
        "empty": empty,
        "message": _empty_message(week, countries, where) if where is not None else None,
        "where_labels_are": where,
        "interval_method": INTERVAL_METHOD,
        "definitions": dict(DEFINITIONS),
        "options": {
            "low_yield": options.low_yield,
            "window": options.window,
            "min_pairs": options.min_pairs,
        },
        "target": data.goal,
        "totals": {
            "week": {
                **label_metrics(scope),
                **outcome_counts(scoped_days[scoped_days["settled_at"] >= start]),
            },
            "cumulative": {
                **label_metrics(upto[upto["country"].isin(countries)]),
                **outcome_counts(scoped_days),
            },
        },
        "countries": rows,
        "agreement": {
            "week": agreement_summary(week_pairs, countries, options.min_pairs),
            "cumulative": agreement_summary(pairs, countries, options.min_pairs),
        },
        "batches": sorted(batches_in_week),
        "model_movement": movement,
        "labelled_country_values": [batch_value(runs, b) for b in sorted(batches_in_week)],
        "recommendations": recommendations(rows, data, options),
        "history": _history(decisions, log, countries, week, options),
        "f1_history": _f1_history(runs, countries, week, {m["run_id"] for m in movement}),
    }
    return dict(jsonable(report))


def _history(
    decisions: pd.DataFrame,
    log: pd.DataFrame,
    countries: Sequence[str],
    week: IsoWeek,
    options: WeeklyOptions,
) -> list[dict[str, Any]]:
    """Per (week, country): labels, new-positive yield and cumulative new positives (charts)."""
    first = week.shifted(-(options.history_weeks - 1))
    if len(decisions):
        earliest = IsoWeek.of(decisions["created_at"].min().to_pydatetime())
        first = max(first, earliest) if earliest <= week else week
    out = []
    w = first
    while w <= week:
        s, e = pd.Timestamp(w.start), pd.Timestamp(w.end)
        sl = decisions[(decisions["created_at"] >= s) & (decisions["created_at"] < e)]
        days = outcomes_frame(log, until=w.end)
        found = days[days["outcome"] == "new_positive"]["country"].value_counts()
        for c in countries:
            cs = sl[sl["country"] == c]
            hits = int((cs["outcome"] == "new_positive").sum())
            out.append(
                {
                    "week": str(w),
                    "country": c,
                    "labels": len(cs),
                    "new_positive_labels": hits,
                    "yield": hits / len(cs) if len(cs) else None,
                    "cumulative_new_positives": int(found.get(c, 0)),
                }
            )
        w = w.shifted(1)
    return out


def _f1_history(
    runs: Sequence[RunInfo], countries: Sequence[str], week: IsoWeek, also: set[str]
) -> list[dict[str, Any]]:
    """Candidate F1 per country of every retrain up to the week's end, plus the later ones that
    used the week's batches (so the chart shows what this week's labels bought)."""
    out = []
    for r in runs:
        if r.metrics is None or (r.created_at >= week.end and r.run_id not in also):
            continue
        per = (r.metrics.get("candidate") or {}).get("per_country", {})
        for c in countries:
            m = per.get(c)
            if m is None:
                continue
            out.append(
                {
                    "run_id": r.run_id,
                    "created_at": iso(r.created_at),
                    "country": c,
                    "f1": m.get("f1"),
                    "ci_low": m.get("ci_low"),
                    "ci_high": m.get("ci_high"),
                    "small_n": m.get("small_n"),
                }
            )
    return out
