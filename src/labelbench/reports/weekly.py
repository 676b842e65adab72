"""The weekly per-country yield report and the one-batch report: plain frames in, report out.

The lead reads the weekly report to decide where analysts spend next week, so every figure is
defined once here (see :data:`DEFINITIONS`, which is printed with every report) and computed from
the label log as it stands now:

* a **label** is a *standing decision*: a ``decision`` event that has not been undone (no
  retraction names it) and whose batch has not been reverted. Adjudications are a lead settling
  a dispute, not labelling work: they change effective labels (new positives) but are not labels.
  Each standing decision counts once, in the ISO week (Monday 00:00 UTC to the next Monday) of
  its ``created_at``; a second analyst's opinion on the same day is a second label.
* **yield** = positive labels / labels, with a 95% **Wilson score** interval.
* **expected positives** (what the model promised) = sum of ``queue_items.expected_p`` of the
  queue items the labels finished; **random baseline** = for the same queued labels, the mean
  model probability of the candidate pool the item's build drew from (``params.pool[country]
  .mean_p``) or, when the build had no model, the pool's incident-label rate. Labels made
  outside the queue have neither and are counted separately (``queued_labels``).
* **new positives** = samples whose incident label is 0 and whose *effective* label (domain rules
  in :mod:`labelbench.domain.labels`, on the standing events made before the week ends) is
  positive.

Output is a JSON-ready dict (the ``--format json`` interface) that the renderers turn into Rich
tables, Markdown, CSV or one self-contained HTML page with base64 PNG charts.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labelbench.domain.labels import LabelEvent, effective_labels
from labelbench.errors import InputError, NotFoundError
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

INTERVAL_METHOD = "Wilson score, 95%"
FORMATS = ("text", "md", "html", "csv", "json")

DEFINITIONS: dict[str, str] = {
    "label": (
        "a standing decision: a decision event not undone (retracted) and not in a reverted "
        "batch, counted in the ISO week (Mon 00:00 UTC to Mon 00:00 UTC) of its time; a second "
        "analyst's opinion on the same day is a second label; adjudications are not labels"
    ),
    "yield": "positive labels / labels; interval: Wilson score 95%",
    "expected_positives": "sum of the model probability (expected_p) of the queue items labelled",
    "random_expected_positives": (
        "queued labels x the candidate pool's mean model probability at build time; the pool's "
        "incident-label rate when the build had no model (see random_basis)"
    ),
    "cumulative": "all weeks up to and including the report week",
    "new_positives": (
        "days with incident label 0 whose effective label (standing events before the week "
        "ended; disputes count as not positive) is positive"
    ),
    "agreement": (
        "days with standing decisions from two analysts (each analyst's latest; the first two "
        "analysts); only positive/negative pairs enter the statistics; a pair belongs to the "
        "week its second decision was made"
    ),
}


# --- ISO weeks ---------------------------------------------------------------------------------

_WEEK = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week; it starts Monday 00:00 UTC and ends (exclusive) the next Monday."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """``2026-W47`` (also ``2026W47``); weeks a year does not have are refused."""
        m = _WEEK.match(text or "")
        if m is None:
            raise InputError(f"bad week {text!r}: use the ISO form YYYY-Www, e.g. 2026-W47")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise InputError(
                f"bad week {text!r}: {year} has no ISO week {week} "
                f"(it has {cls.weeks_in_year(year)})"
            ) from None
        return cls(year, week)

    @staticmethod
    def weeks_in_year(year: int) -> int:
        """52 or 53: the ISO week of 28 December is always the year's last week."""
        return dt.date(year, 12, 28).isocalendar().week

    @classmethod
    def of(cls, day: dt.date | dt.datetime) -> IsoWeek:
        """The week a date (or an aware datetime, taken in UTC) falls in."""
        if isinstance(day, dt.datetime):
            if day.tzinfo is None:
                raise ValueError("naive datetime: give a timezone-aware (UTC) time")
            day = day.astimezone(dt.UTC).date()
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def last_complete(cls, now: dt.datetime) -> IsoWeek:
        """The latest week that has fully ended at ``now`` (UTC): the default report week."""
        return cls.of(now).shifted(-1)

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.monday, dt.time(0), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """Exclusive end: the next Monday 00:00 UTC."""
        return self.start + dt.timedelta(days=7)

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + dt.timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"


# --- inputs ------------------------------------------------------------------------------------


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
    """The label log, :data:`LABEL_COLUMNS` (created_at tz-aware UTC)."""
    queue_items: pd.DataFrame
    """Queue items that were finished by a label, :data:`QUEUE_ITEM_COLUMNS`."""
    builds: dict[int, dict[str, Any]]
    """build id -> {strategy, model_run_id, created_at, pool: {country: {n, mean_p, ...}}}."""
    batches: pd.DataFrame
    """Labelling batches, :data:`BATCH_COLUMNS`."""
    runs: list[RunInfo]
    targets: list[str]
    """Target countries (watch list + fewer than K incident positives, with samples)."""
    countries: list[str] | None = None
    """Countries the user asked for (None: targets plus every country labelled so far)."""
    goal: int = 25
    watch_list: list[str] = field(default_factory=list)
    target_threshold: int = 15
    incident_positives: dict[str, int] = field(default_factory=dict)


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


def empty_labels() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LABEL_COLUMNS})


# --- preparation -------------------------------------------------------------------------------


def _num(x: Any, digits: int = 6) -> float | None:
    if x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if not math.isfinite(f) else round(f, digits)


def _iso(x: Any) -> str | None:
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT:
        return None
    ts = pd.Timestamp(x)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return str(ts.tz_convert("UTC").isoformat())


def _clean(obj: Any) -> Any:
    """Numpy/pandas scalars to Python, NaN to None: the dict must survive ``json.dumps``."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _num(obj)
    if isinstance(obj, (pd.Timestamp, dt.datetime)):
        return _iso(obj)
    return obj


def _pool_rate(build: dict[str, Any] | None, country: str) -> tuple[float | None, str | None]:
    if not build:
        return None, None
    pool = (build.get("pool") or {}).get(country)
    if not pool:
        return None, None
    if pool.get("mean_p") is not None:
        return float(pool["mean_p"]), "model"
    if pool.get("incident_rate") is not None:
        return float(pool["incident_rate"]), "incident_rate"
    return None, None


def _frame(labels: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"label frame lacks columns: {', '.join(missing)}")
    df = labels.loc[:, list(LABEL_COLUMNS)].copy()
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    df["country"] = df["country"].astype(str)
    return df


def standing_decisions(data: WeeklyData, *, include_reverted: bool = False) -> pd.DataFrame:
    """Decisions that still stand, with the queue item, expected_p and random rate of each."""
    df = _frame(data.labels)
    live = df if include_reverted else df[df["batch_status"].fillna("") != "reverted"]
    retracted = set(live.loc[live["event"] == "retraction", "retracts_id"].dropna().astype(int))
    out = live[(live["event"] == "decision") & ~live["label_id"].astype(int).isin(retracted)].copy()
    items = data.queue_items.loc[:, list(QUEUE_ITEM_COLUMNS)].drop_duplicates("label_id")
    out = out.merge(items, on="label_id", how="left")
    rates = [
        _pool_rate(data.builds.get(int(b)) if pd.notna(b) else None, c)
        for b, c in zip(out["build_id"], out["country"], strict=True)
    ]
    out["random_p"] = [r for r, _ in rates]
    out["random_basis"] = [b for _, b in rates]
    out["expected_p"] = pd.to_numeric(out["expected_p"], errors="coerce")
    out["random_p"] = pd.to_numeric(out["random_p"], errors="coerce")
    out["seconds_spent"] = pd.to_numeric(out["seconds_spent"], errors="coerce")
    return out.sort_values(["created_at", "label_id"], kind="stable").reset_index(drop=True)


def _standing_events(data: WeeklyData) -> pd.DataFrame:
    """Decisions and adjudications that count for the effective label (retractions applied)."""
    df = _frame(data.labels)
    live = df[df["batch_status"].fillna("") != "reverted"]
    retracted = set(live.loc[live["event"] == "retraction", "retracts_id"].dropna().astype(int))
    return live[(live["event"] != "retraction") & ~live["label_id"].astype(int).isin(retracted)]


def new_positives(events: pd.DataFrame, end: dt.datetime) -> dict[str, int]:
    """Per country: incident-negative days whose effective label before ``end`` is positive."""
    cut = events[events["created_at"] < pd.Timestamp(end)]
    if cut.empty:
        return {}
    derived = effective_labels(
        LabelEvent(
            id=int(r.label_id),
            sample_id=int(r.sample_id),
            verdict=str(r.verdict),
            event=str(r.event),
            analyst=str(r.analyst),
            created_at=r.created_at.to_pydatetime(),
            evidence_fingerprint="",
        )
        for r in cut.itertuples(index=False)
    )
    meta = cut.drop_duplicates("sample_id").set_index("sample_id")
    counts: dict[str, int] = {}
    for sid, eff in derived.items():
        row = meta.loc[sid]
        if eff.verdict == "positive" and int(row["incident_label"]) == 0:
            counts[str(row["country"])] = counts.get(str(row["country"]), 0) + 1
    return counts


# --- figures -----------------------------------------------------------------------------------


def _basis(bases: Iterable[Any]) -> str | None:
    found = {b for b in bases if isinstance(b, str)}
    if not found:
        return None
    if found == {"model"}:
        return "model mean_p"
    if found == {"incident_rate"}:
        return "incident rate (no model)"
    return "mixed (model mean_p / incident rate)"


def label_metrics(df: pd.DataFrame) -> dict[str, Any]:
    """The per-slice figures (week, cumulative, batch) of a frame of standing decisions."""
    n = len(df)
    positives = int((df["verdict"] == "positive").sum())
    ci = wilson_interval(positives, n)
    seconds = df["seconds_spent"].dropna()
    queued = df[df["build_id"].notna()]
    with_expected = df["expected_p"].dropna()
    with_random = df.loc[df["random_p"].notna()]
    random_total = float(with_random["random_p"].sum()) if len(with_random) else None
    positives_random = int((with_random["verdict"] == "positive").sum())
    return {
        "labels": n,
        "samples": int(df["sample_id"].nunique()),
        "positives": positives,
        "yield": positives / n if n else None,
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
        "lift_vs_random": (positives_random / random_total) if random_total else None,
    }


def _since_last_positive(df: pd.DataFrame) -> tuple[int, str | None]:
    verdicts = df["verdict"].tolist()
    for back, v in enumerate(reversed(verdicts)):
        if v == "positive":
            return back, _iso(df["created_at"].iloc[len(verdicts) - 1 - back])
    return len(verdicts), None


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
    per_sample = latest.groupby("sample_id")["analyst"].transform("size")
    latest = latest[per_sample >= 2]
    rows = []
    for sid, group in latest.groupby("sample_id"):
        if len(group) < 2:
            continue
        g = group.sort_values(["created_at", "label_id"]).iloc[:2]
        rows.append(
            (
                sid,
                g["country"].iloc[0],
                g["verdict"].iloc[0],
                g["verdict"].iloc[1],
                g["created_at"].iloc[1],
            )
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


def _attribution_rows(
    metrics: dict[str, Any], countries: Sequence[str], mark: set[int]
) -> list[dict[str, Any]]:
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
        "created_at": _iso(run.created_at),
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
        attribution=_attribution_rows(m, countries, batches),
        batches_not_attributed=list(m.get("batches_not_attributed") or []),
    )
    return entry


def _target_reason(c: str, data: WeeklyData) -> str:
    reasons = []
    if c in data.watch_list:
        reasons.append("watch list")
    k = data.incident_positives.get(c)
    if k is not None and k < data.target_threshold:
        reasons.append(f"fewer than {data.target_threshold} incident positives: {k}")
    return ", ".join(reasons) or "target"


def _pct(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


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
            if not r["is_target"]:
                continue
            action = "not_started"
            text = (
                f"{c}: not started. It is a target ({_target_reason(c, data)}) with no labels "
                "yet; give it analyst time next week."
            )
        elif r["at_target"]:
            action = "at_target"
            text = f"{c}: at target ({progress}); move its analysts to countries below target."
        elif r["recent_yield"] is not None and r["recent_yield"] < options.low_yield:
            action = "low_yield"
            ci = r["recent_yield_ci"]
            text = (
                f"{c}: yield {_pct(r['recent_yield'])} over the last {options.window} labels "
                f"(95% CI {_pct(ci[0])}-{_pct(ci[1])}) is below {_pct(options.low_yield)}; "
                f"stop, or switch strategy (e.g. likely_positive or seed). {progress}."
            )
        else:
            action = "continue"
            recent = (
                f"yield {_pct(r['recent_yield'])} over the last {options.window} labels"
                if r["recent_yield"] is not None
                else f"fewer than {options.window} labels so far, too early to judge yield"
            )
            text = f"{c}: keep going ({progress}; {recent})."
        out.append({"country": c, "action": action, "message": text})
    return sorted(out, key=lambda x: (order[x["action"]], x["country"]))


def build_weekly_report(
    data: WeeklyData,
    week: IsoWeek,
    options: WeeklyOptions | None = None,
    *,
    generated_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The weekly report as a JSON-ready dict (the ``--format json`` interface)."""
    options = options or WeeklyOptions()
    start, end = pd.Timestamp(week.start), pd.Timestamp(week.end)
    decisions = standing_decisions(data)
    upto = decisions[decisions["created_at"] < end]
    in_week = upto[upto["created_at"] >= start]
    if data.countries is not None:
        countries = list(data.countries)
    else:
        countries = sorted(set(data.targets) | set(upto["country"]))
    events = _standing_events(data)
    new_pos = new_positives(events, week.end)
    targets = set(data.targets)

    rows: list[dict[str, Any]] = []
    for c in countries:
        cum = upto[upto["country"] == c]
        wk = in_week[in_week["country"] == c]
        since, last_at = _since_last_positive(cum)
        recent = cum.tail(options.window)
        full = len(recent) >= options.window
        recent_pos = int((recent["verdict"] == "positive").sum())
        n_new = new_pos.get(c, 0)
        row = {"country": c, "is_target": c in targets}
        row.update(label_metrics(wk))
        row.update(
            cumulative=label_metrics(cum),
            labels_since_last_positive=since,
            last_positive_at=last_at,
            cumulative_new_positives=n_new,
            target=data.goal,
            at_target=n_new >= data.goal,
            recent_labels=len(recent),
            recent_yield=recent_pos / len(recent) if full else None,
            recent_yield_ci=list(wilson_interval(recent_pos, len(recent)) or ()) if full else None,
        )
        rows.append(row)

    scope = in_week[in_week["country"].isin(countries)] if countries else in_week
    pairs = agreement_pairs(upto)
    pairs = pairs[pairs["country"].isin(countries)] if countries else pairs
    week_pairs = pairs[pairs["paired_at"] >= start] if len(pairs) else pairs
    batches_in_week = {int(b) for b in scope["batch_id"].dropna()}
    runs = sorted(data.runs, key=lambda r: (r.created_at, r.run_id))
    movement = [
        _run_entry(r, countries, batches_in_week)
        for r in runs
        if set(r.label_batches) & batches_in_week
    ]
    n_week = len(scope)
    report = {
        "week": str(week),
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "generated_at": _iso(generated_at or dt.datetime.now(dt.UTC)),
        "empty": n_week == 0,
        "message": f"no labels in {week}" if n_week == 0 else None,
        "interval_method": INTERVAL_METHOD,
        "definitions": dict(DEFINITIONS),
        "options": {
            "low_yield": options.low_yield,
            "window": options.window,
            "min_pairs": options.min_pairs,
        },
        "target": data.goal,
        "totals": {
            "week": label_metrics(scope),
            "cumulative": label_metrics(upto[upto["country"].isin(countries)]),
        },
        "countries": rows,
        "agreement": {
            "week": agreement_summary(week_pairs, countries, options.min_pairs),
            "cumulative": agreement_summary(pairs, countries, options.min_pairs),
        },
        "batches": sorted(batches_in_week),
        "model_movement": movement,
        "recommendations": recommendations(rows, data, options),
        "history": _history(decisions, events, countries, week, options),
        "f1_history": _f1_history(runs, countries, week, {m["run_id"] for m in movement}),
    }
    return _clean(report)


def _history(
    decisions: pd.DataFrame,
    events: pd.DataFrame,
    countries: Sequence[str],
    week: IsoWeek,
    options: WeeklyOptions,
) -> list[dict[str, Any]]:
    """Per (week, country): labels, positives, yield and cumulative new positives (charts)."""
    first = week.shifted(-(options.history_weeks - 1))
    if len(decisions):
        earliest = IsoWeek.of(decisions["created_at"].min().to_pydatetime())
        first = max(first, earliest) if earliest <= week else week
    out = []
    w = first
    while w <= week:
        s, e = pd.Timestamp(w.start), pd.Timestamp(w.end)
        sl = decisions[(decisions["created_at"] >= s) & (decisions["created_at"] < e)]
        new_pos = new_positives(events, w.end)
        for c in countries:
            cs = sl[sl["country"] == c]
            pos = int((cs["verdict"] == "positive").sum())
            out.append(
                {
                    "week": str(w),
                    "country": c,
                    "labels": len(cs),
                    "positives": pos,
                    "yield": pos / len(cs) if len(cs) else None,
                    "cumulative_new_positives": new_pos.get(c, 0),
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
                    "created_at": _iso(r.created_at),
                    "country": c,
                    "f1": m.get("f1"),
                    "ci_low": m.get("ci_low"),
                    "ci_high": m.get("ci_high"),
                    "small_n": m.get("small_n"),
                }
            )
    return out


# --- the batch report --------------------------------------------------------------------------


def build_batch_report(data: WeeklyData, batch_id: int) -> dict[str, Any]:
    """What one labelling batch contained and what the retrains that included it measured."""
    batches = data.batches
    match = batches[batches["batch_id"].astype(int) == int(batch_id)]
    if match.empty:
        raise NotFoundError(f"no labelling batch {batch_id} (see `labelbench batches list`)")
    b = match.iloc[0]
    decisions = standing_decisions(data, include_reverted=True)
    mine = decisions[decisions["batch_id"].astype("Int64") == int(batch_id)]
    all_rows = _frame(data.labels)
    retractions = int(
        (
            (all_rows["batch_id"].astype("Int64") == int(batch_id))
            & (all_rows["event"] == "retraction")
        ).sum()
    )
    by_country = []
    for c in sorted(mine["country"].unique()):
        sub = mine[mine["country"] == c]
        row = {"country": c, **label_metrics(sub)}
        row["verdicts"] = {v: int((sub["verdict"] == v).sum()) for v in _VERDICTS}
        by_country.append(row)
    attribution = []
    included_in = []
    for r in sorted(data.runs, key=lambda r: (r.created_at, r.run_id)):
        if int(batch_id) not in r.label_batches:
            continue
        included_in.append(r.run_id)
        for row in _attribution_rows(r.metrics or {}, [], {int(batch_id)}):
            if row["batch_id"] == int(batch_id):
                attribution.append({"run_id": r.run_id, "created_at": _iso(r.created_at), **row})
    status = str(b["status"])
    report = {
        "batch_id": int(batch_id),
        "analyst": b["analyst"],
        "status": status,
        "note": "reverted: these labels no longer count" if status == "reverted" else None,
        "started_at": _iso(b["started_at"]),
        "closed_at": _iso(b["closed_at"]) if pd.notna(b["closed_at"]) else None,
        "first_label_at": _iso(mine["created_at"].min()) if len(mine) else None,
        "last_label_at": _iso(mine["created_at"].max()) if len(mine) else None,
        "countries": list(b["countries"] or []),
        "strategy": b["strategy"],
        "retractions": retractions,
        "interval_method": INTERVAL_METHOD,
        "definitions": {
            k: DEFINITIONS[k]
            for k in ("label", "yield", "expected_positives", "random_expected_positives")
        },
        "verdicts": {v: int((mine["verdict"] == v).sum()) for v in _VERDICTS},
        "totals": label_metrics(mine),
        "by_country": by_country,
        "included_in_runs": included_in,
        "attribution": attribution,
    }
    return _clean(report)


_VERDICTS = ("positive", "negative", "unsure", "skip")


# --- rendering: shared sections ----------------------------------------------------------------


@dataclass
class Section:
    """One titled block: a few lines of prose and an optional table (all renderers share it)."""

    title: str
    lines: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _f(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def _ci(ci: Any, pct: bool = True) -> str:
    if not ci:
        return "-"
    return f"[{_pct(ci[0])}, {_pct(ci[1])}]" if pct else f"[{_f(ci[0])}, {_f(ci[1])}]"


def _pp(x: Any) -> str:
    return "-" if x is None else f"{x * 100:+.1f}pp"


def _yield_cell(m: dict[str, Any]) -> str:
    return "-" if m["yield"] is None else f"{_pct(m['yield'], 1)} {_ci(m['yield_ci'])}"


def _basis_note(totals: dict[str, Any]) -> str:
    basis = totals.get("random_basis")
    return f"random baseline from: {basis}" if basis else "random baseline: no queued labels"


def _yield_rows(rows: list[dict[str, Any]], key: str | None) -> list[list[str]]:
    out = []
    for r in rows:
        m = r if key is None else r[key]
        out.append(
            [
                r["country"],
                _f(m["labels"]),
                _f(m["positives"]),
                _yield_cell(m),
                _pct(m["unsure_rate"]),
                _pct(m["skip_rate"]),
                _f(m["median_seconds"], 0),
                _f(m["analysts"]),
                _f(m["expected_positives"]),
                _f(m["random_expected_positives"]),
                "-" if m["lift_vs_random"] is None else f"x{m['lift_vs_random']:.1f}",
            ]
        )
    return out


YIELD_HEADERS = [
    "country",
    "labels",
    "positives",
    "yield [95% CI]",
    "unsure",
    "skip",
    "median s",
    "analysts",
    "expected",
    "random",
    "lift",
]


def _agreement_rows(summary: dict[str, Any]) -> list[list[str]]:
    out = []
    items = [("overall", summary["overall"]), *summary["per_country"].items()]
    for name, s in items:
        out.append(
            [
                name,
                _f(s["pairs"]),
                _f(s["observed_agreement"]),
                _f(s["positive_agreement"]),
                _f(s["gwet_ac1"]),
                _f(s["cohen_kappa"]),
            ]
        )
    return out


def _since_cell(r: dict[str, Any]) -> str:
    if not r["cumulative"]["labels"]:
        return "-"
    n = _f(r["labels_since_last_positive"])
    return n if r["last_positive_at"] else f"{n} (no positive yet)"


def weekly_sections(report: dict[str, Any]) -> list[Section]:
    """The report's content, renderer-neutral."""
    rows = report["countries"]
    wk = report["week"]
    head = Section(
        f"Weekly labelling report {wk}",
        [
            f"{report['start'][:10]} to {report['end'][:10]} (exclusive, UTC); generated "
            f"{(report['generated_at'] or '')[:16]}.",
            f"Yield intervals: {report['interval_method']}. Target: {report['target']} new "
            "positives per country.",
        ],
    )
    if report["empty"]:
        head.lines.insert(
            0,
            f"**{report['message']}**: cumulative figures and recommendations "
            "below are as of the end of the week.",
        )
    t = report["totals"]
    head.lines.append(
        f"This week: {t['week']['labels']} labels, {t['week']['positives']} positives; "
        f"cumulative: {t['cumulative']['labels']} labels, {t['cumulative']['positives']} positives."
    )
    sections = [head]
    sections.append(
        Section(
            "Recommendations",
            [r["message"] for r in report["recommendations"]] or ["No countries in scope."],
        )
    )
    week_note = [
        _basis_note(t["week"]),
        "expected = sum of the model's probabilities of the labelled items; random = "
        "what labelling the same number of days at random from the pool would find; "
        "lift = positives among queued labels / random.",
    ]
    if report["empty"]:
        week_note.insert(0, f"No labels in {wk}.")
    sections.append(
        Section(
            f"This week ({wk})",
            week_note,
            YIELD_HEADERS,
            _yield_rows([r for r in rows if r["labels"]] if not report["empty"] else [], None),
        )
    )
    sections.append(
        Section(
            f"Cumulative (through {wk})",
            [_basis_note(t["cumulative"])],
            YIELD_HEADERS,
            _yield_rows(rows, "cumulative"),
        )
    )
    sections.append(
        Section(
            "Progress to target",
            [
                f"Target: {report['target']} new positives (incident label 0, effective label "
                "positive) per country."
            ],
            [
                "country",
                "target country",
                "new positives",
                "target",
                "at target",
                "labels since last positive",
                f"yield last {report['options']['window']}",
            ],
            [
                [
                    r["country"],
                    _f(r["is_target"]),
                    _f(r["cumulative_new_positives"]),
                    _f(r["target"]),
                    _f(r["at_target"]),
                    _since_cell(r),
                    "-"
                    if r["recent_yield"] is None
                    else f"{_pct(r['recent_yield'])} {_ci(r['recent_yield_ci'])}",
                ]
                for r in rows
            ],
        )
    )
    for label, key in ((f"week {wk}", "week"), ("cumulative", "cumulative")):
        a = report["agreement"][key]
        lines = [
            f"{a['double_labelled']} double-labelled days; "
            f"{a['excluded_unsure_or_skip']} left out (unsure/skip). Kappa misleads when "
            "positives are rare: read positive agreement and AC1 first."
        ]
        if a["note"]:
            lines.append(a["note"][0].upper() + a["note"][1:] + ".")
        if not a["overall"]["pairs"]:
            lines.append("No positive/negative pairs to compare.")
        sections.append(
            Section(
                f"Agreement ({label})",
                lines,
                ["scope", "pairs", "observed", "positive agreement", "Gwet AC1", "Cohen kappa"],
                _agreement_rows(a) if a["overall"]["pairs"] else [],
            )
        )
    if not report["model_movement"]:
        sections.append(Section("Model movement", ["No retrain used this week's batches."]))
    for run in report["model_movement"]:
        lines = [
            f"Run {run['run_id']} ({(run['created_at'] or '')[:16]}), alias "
            f"{run['alias'] or '-'}, used batches "
            f"{', '.join(map(str, run['batches_in_scope']))} of this week."
        ]
        if run["note"]:
            lines.append(run["note"])
        if run.get("loco_median_f1"):
            lm = run["loco_median_f1"]
            lines.append(
                f"LOCO median F1: production {_f(lm['production'], 3)}, candidate "
                f"{_f(lm['candidate'], 3)}; promoted: {_f(run['promoted'])}."
            )
        sections.append(
            Section(
                f"Model movement: {run['run_id']}",
                lines,
                [
                    "country",
                    "n",
                    "pos",
                    "production F1 [CI]",
                    "candidate F1 [CI]",
                    "delta [CI]",
                    "status",
                ],
                [
                    [
                        c["country"],
                        _f(c["n"]),
                        _f(c["positives"]),
                        f"{_f(c['production_f1'], 3)} {_ci(c['production_ci'], False)}",
                        f"{_f(c['candidate_f1'], 3)} {_ci(c['candidate_ci'], False)}"
                        + (" small n" if c["candidate_small_n"] else ""),
                        f"{_pp(c['delta'])} [{_pp((c['delta_ci'] or [None])[0])}, "
                        f"{_pp((c['delta_ci'] or [None, None])[1])}]",
                        c["status"] or "-",
                    ]
                    for c in run["countries"]
                ],
            )
        )
        if run["attribution"]:
            sections.append(
                Section(
                    f"Batch attribution: {run['run_id']}",
                    [
                        "LOCO median F1 change when the batch is left out of the retrain "
                        "(positive = the batch helped)."
                    ],
                    [
                        "batch",
                        "this week",
                        "analyst",
                        "labels",
                        "countries",
                        "median F1 [CI]",
                        "per country",
                    ],
                    [
                        [
                            _f(b["batch_id"]),
                            _f(b["in_scope"]),
                            b["analyst"] or "-",
                            _f(b["labels"]),
                            ", ".join(b["countries"]),
                            f"{_pp(b['delta_loco_median_f1'])} [{_pp((b['ci'] or [None])[0])}, "
                            f"{_pp((b['ci'] or [None, None])[1])}]",
                            "; ".join(
                                f"{c} {_pp(d.get('delta'))} {d.get('status', '')}"
                                for c, d in b["country_deltas"].items()
                            )
                            or "-",
                        ]
                        for b in run["attribution"]
                    ],
                )
            )
    sections.append(
        Section("Definitions", [f"{k}: {v}." for k, v in report["definitions"].items()])
    )
    return sections


def batch_sections(report: dict[str, Any]) -> list[Section]:
    t = report["totals"]
    lines = [
        f"Analyst {report['analyst']}; status {report['status']}; strategy {report['strategy']}.",
        f"Started {(report['started_at'] or '-')[:16]}, closed {(report['closed_at'] or '-')[:16]};"
        f" labels from {(report['first_label_at'] or '-')[:16]} to "
        f"{(report['last_label_at'] or '-')[:16]}.",
        f"Countries queued: {', '.join(report['countries']) or '-'}.",
        f"{t['labels']} labels ({report['retractions']} undone), {t['positives']} positives, "
        f"yield {_yield_cell(t)}; median {_f(t['median_seconds'], 0)} s per label; expected "
        f"{_f(t['expected_positives'])}, random {_f(t['random_expected_positives'])}.",
        "Decisions by verdict: "
        + ", ".join(f"{v} {n}" for v, n in report["verdicts"].items())
        + ".",
        _basis_note(t),
    ]
    if report["note"]:
        lines.insert(0, f"**{report['note']}**")
    sections = [Section(f"Labelling batch {report['batch_id']}", lines)]
    sections.append(
        Section(
            "By country",
            [],
            [
                "country",
                "labels",
                "positive",
                "negative",
                "unsure",
                "skip",
                "yield [95% CI]",
                "median s",
                "expected",
                "random",
            ],
            [
                [
                    r["country"],
                    _f(r["labels"]),
                    *(_f(r["verdicts"][v]) for v in _VERDICTS),
                    _yield_cell(r),
                    _f(r["median_seconds"], 0),
                    _f(r["expected_positives"]),
                    _f(r["random_expected_positives"]),
                ]
                for r in report["by_country"]
            ],
        )
    )
    what = Section(
        "What it did",
        ["Included in runs: " + (", ".join(report["included_in_runs"]) or "none yet") + "."],
    )
    if report["attribution"]:
        what.headers = ["run", "median F1 without it -> with it [CI]", "per country"]
        what.rows = [
            [
                a["run_id"],
                f"{_pp(a['delta_loco_median_f1'])} [{_pp((a['ci'] or [None])[0])}, "
                f"{_pp((a['ci'] or [None, None])[1])}]",
                "; ".join(
                    f"{c} {_pp(d.get('delta'))} {d.get('status', '')}"
                    for c, d in a["country_deltas"].items()
                )
                or "-",
            ]
            for a in report["attribution"]
        ]
    elif report["included_in_runs"]:
        what.lines.append("No leave-one-batch-out attribution was computed for it.")
    sections.append(what)
    return sections


# --- renderers ---------------------------------------------------------------------------------


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def sections_markdown(sections: Sequence[Section]) -> str:
    out: list[str] = []
    for i, s in enumerate(sections):
        out += [("# " if i == 0 else "## ") + s.title, ""]
        if s.title == "Recommendations" or s.title == "Definitions":
            out += [f"- {line}" for line in s.lines]
        else:
            out += [line + "  " if j < len(s.lines) - 1 else line for j, line in enumerate(s.lines)]
        if s.lines:
            out.append("")
        if s.headers and s.rows:
            out.append("| " + " | ".join(_md_cell(h) for h in s.headers) + " |")
            out.append("|" + "---|" * len(s.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in s.rows]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    """Markdown for a wiki page."""
    return sections_markdown(weekly_sections(report))


def render_json(report: dict[str, Any]) -> str:
    """One JSON object (strict: no NaN)."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


CSV_FIELDS = (
    "labels",
    "samples",
    "positives",
    "yield",
    "unsure_rate",
    "skip_rate",
    "median_seconds",
    "analysts",
    "queued_labels",
    "expected_positives",
    "random_expected_positives",
    "random_basis",
    "lift_vs_random",
)


def render_csv(report: dict[str, Any]) -> str:
    """One row per country: the week's figures, then ``cum_``-prefixed cumulative ones."""
    records = []
    for r in report["countries"]:
        rec: dict[str, Any] = {"week": report["week"], "country": r["country"]}
        for prefix, m in (("", r), ("cum_", r["cumulative"])):
            for k in CSV_FIELDS:
                rec[prefix + k] = m[k]
            ci = m["yield_ci"] or [None, None]
            rec[prefix + "yield_ci_low"], rec[prefix + "yield_ci_high"] = ci
        for k in (
            "labels_since_last_positive",
            "cumulative_new_positives",
            "target",
            "at_target",
            "is_target",
            "recent_yield",
        ):
            rec[k] = r[k]
        records.append(rec)
    columns = (
        ["week", "country"]
        + [p + k for p in ("", "cum_") for k in (*CSV_FIELDS, "yield_ci_low", "yield_ci_high")]
        + [
            "labels_since_last_positive",
            "cumulative_new_positives",
            "target",
            "at_target",
            "is_target",
            "recent_yield",
        ]
    )
    return pd.DataFrame.from_records(records, columns=columns).to_csv(index=False)


def rich_sections(sections: Sequence[Section]) -> Any:
    """A Rich renderable (Group of titled tables and text) for the terminal."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    for i, s in enumerate(sections):
        style = "bold underline" if i == 0 else "bold"
        parts.append(Text(s.title, style=style))
        for line in s.lines:
            parts.append(Text.from_markup(escape(line).replace("\\*\\*", "").replace("**", "")))
        if s.headers and s.rows:
            table = Table(*s.headers)
            for row in s.rows:
                table.add_row(*(escape(c) for c in row))
            parts.append(table)
        parts.append(Text(""))
    return Group(*parts)


def rich_report(report: dict[str, Any]) -> Any:
    return rich_sections(weekly_sections(report))


def render_text(renderable: Any, width: int = 140) -> str:
    """Plain text of a Rich renderable (for ``--format text --out FILE``)."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(renderable)
    return buf.getvalue()


# --- HTML with embedded charts -----------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0} img{max-width:100%;display:block;margin:1em 0}
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI): yield by week, new positives vs target, F1 across retrains."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    hist = pd.DataFrame(report["history"])
    out = []
    fig, ax = plt.subplots(figsize=(9, 4))
    if len(hist) and hist["labels"].sum() > 0:
        weeks = list(dict.fromkeys(hist["week"]))
        for c, g in hist.groupby("country"):
            if g["labels"].sum() == 0:
                continue
            y = [np.nan if v is None else v for v in g["yield"]]
            ax.plot([weeks.index(w) for w in g["week"]], y, marker="o", label=str(c))
        ax.set_xticks(range(len(weeks)), weeks, rotation=45, ha="right")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("yield (positives / labels)")
        ax.legend(fontsize="small", ncol=2)
    else:
        _no_data(ax, "no labels yet")
    ax.set_title("Yield per country per week")
    out.append(("Yield per country per week", _png(fig)))

    fig, ax = plt.subplots(figsize=(9, 4))
    rows = report["countries"]
    if rows:
        names = [r["country"] for r in rows]
        vals = [r["cumulative_new_positives"] for r in rows]
        ax.bar(names, vals, color=["tab:green" if r["at_target"] else "tab:blue" for r in rows])
        ax.axhline(report["target"], color="tab:red", linestyle="--", label="target")
        ax.set_ylabel("cumulative new positives")
        ax.legend()
    else:
        _no_data(ax, "no countries in scope")
    ax.set_title(f"Cumulative new positives vs target (through {report['week']})")
    out.append(("Cumulative new positives vs target", _png(fig)))

    fig, ax = plt.subplots(figsize=(9, 4))
    f1 = pd.DataFrame(report["f1_history"])
    if len(f1) and f1["f1"].notna().any():
        runs = list(dict.fromkeys(f1["run_id"]))
        for k, (c, g) in enumerate(f1.groupby("country")):
            x = np.array([runs.index(r) for r in g["run_id"]], dtype=float) + 0.06 * k
            y = g["f1"].astype(float).to_numpy()
            lo = y - g["ci_low"].astype(float).to_numpy()
            hi = g["ci_high"].astype(float).to_numpy() - y
            ax.errorbar(
                x, y, yerr=np.nan_to_num(np.vstack([lo, hi])), marker="o", capsize=3, label=str(c)
            )
        ax.set_xticks(range(len(runs)), [r[:15] for r in runs], rotation=30, ha="right")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("candidate LOCO F1 (95% CI)")
        ax.legend(fontsize="small", ncol=2)
    else:
        _no_data(ax, "no retrains with metrics yet")
    ax.set_title("F1 per country across retrains")
    out.append(("F1 per country across retrains", _png(fig)))
    return out


def _html_text(line: str) -> str:
    text = html.escape(line)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def sections_html(sections: Sequence[Section], images: Sequence[tuple[str, str]] = ()) -> str:
    title = html.escape(sections[0].title if sections else "report")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
    ]
    for i, s in enumerate(sections):
        tag = "h1" if i == 0 else "h2"
        out.append(f"<{tag}>{html.escape(s.title)}</{tag}>")
        if s.title in ("Recommendations", "Definitions"):
            out.append("<ul>" + "".join(f"<li>{_html_text(x)}</li>" for x in s.lines) + "</ul>")
        else:
            out += [f"<p>{_html_text(x)}</p>" for x in s.lines]
        if s.headers and s.rows:
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in s.headers)
                + "</tr></thead><tbody>"
            )
            for row in s.rows:
                out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        if i == 0 and images:
            out.append("<h2>Charts</h2>")
            for name, uri in images:
                out.append(
                    f'<figure><img alt="{html.escape(name)}" src="{uri}">'
                    f"<figcaption>{html.escape(name)}</figcaption></figure>"
                )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def render_html(report: dict[str, Any]) -> str:
    """One self-contained HTML page: tables plus the three charts as base64 PNGs."""
    return sections_html(weekly_sections(report), charts(report))


def render(report: dict[str, Any], fmt: str) -> str:
    """The weekly report in ``md``, ``html``, ``csv``, ``json`` or plain ``text``."""
    if fmt == "md":
        return render_markdown(report)
    if fmt == "html":
        return render_html(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "text":
        return render_text(rich_report(report))
    raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def render_batch(report: dict[str, Any], fmt: str) -> str:
    """The batch report in ``md``, ``html``, ``json`` or plain ``text``."""
    if fmt == "json":
        return render_json(report)
    sections = batch_sections(report)
    if fmt == "md":
        return sections_markdown(sections)
    if fmt == "html":
        return sections_html(sections)
    if fmt == "text":
        return render_text(rich_sections(sections))
    raise InputError(f"unknown format {fmt!r} for a batch report; use text, md, html or json")
