"""The one-batch report: what a labelling batch contained, found and did to the model."""

from __future__ import annotations

from typing import Any

import pandas as pd

from labelbench.errors import InputError, NotFoundError
from labelbench.reports.metrics import (
    DEFINITIONS,
    INTERVAL_METHOD,
    WeeklyData,
    decisions_frame,
    label_frame,
    label_metrics,
    outcome_counts,
    outcomes_frame,
)
from labelbench.reports.render import (
    Section,
    iso,
    jsonable,
    num,
    pp,
    pp_interval,
    render_json,
    render_text,
    rich_sections,
    sections_html,
    sections_markdown,
)
from labelbench.reports.values import HOW_TO_READ, batch_value, value_lines
from labelbench.reports.weekly import attribution_rows
from labelbench.reports.weekly_render import basis_note, yield_cell

VERDICTS = ("positive", "negative", "unsure", "skip")


def build_batch_report(data: WeeklyData, batch_id: int) -> dict[str, Any]:
    """What one labelling batch contained and what the retrains that included it measured.

    Outcomes are those of the days the batch has a standing decision on, as they stand now; a
    reverted batch has none (its labels no longer count).
    """
    batches = data.batches
    match = batches[batches["batch_id"].astype(int) == int(batch_id)]
    if match.empty:
        raise NotFoundError(f"no labelling batch {batch_id} (see `labelbench batches list`)")
    b = match.iloc[0]
    decisions = decisions_frame(data, include_reverted=True)
    mine = decisions[decisions["batch_id"].astype("Int64") == int(batch_id)]
    log = label_frame(data.labels)
    days = outcomes_frame(log, batch_id=int(batch_id))
    retractions = int(
        ((log["batch_id"].astype("Int64") == int(batch_id)) & (log["event"] == "retraction")).sum()
    )
    by_country = []
    for c in sorted(mine["country"].unique()):
        sub = mine[mine["country"] == c]
        row = {"country": c, **label_metrics(sub), **outcome_counts(days[days["country"] == c])}
        row["verdicts"] = {v: int((sub["verdict"] == v).sum()) for v in VERDICTS}
        by_country.append(row)
    attribution = []
    included_in = []
    for r in sorted(data.runs, key=lambda r: (r.created_at, r.run_id)):
        if int(batch_id) not in r.label_batches:
            continue
        included_in.append(r.run_id)
        for row in attribution_rows(r.metrics or {}, [], {int(batch_id)}):
            if row["batch_id"] == int(batch_id):
                attribution.append({"run_id": r.run_id, "created_at": iso(r.created_at), **row})
    status = str(b["status"])
    report = {
        "batch_id": int(batch_id),
        "analyst": b["analyst"],
        "status": status,
        "note": "reverted: these labels no longer count" if status == "reverted" else None,
        "started_at": iso(b["started_at"]),
        "closed_at": iso(b["closed_at"]) if pd.notna(b["closed_at"]) else None,
        "first_label_at": iso(mine["created_at"].min()) if len(mine) else None,
        "last_label_at": iso(mine["created_at"].max()) if len(mine) else None,
        "countries": list(b["countries"] or []),
        "strategy": b["strategy"],
        "retractions": retractions,
        "interval_method": INTERVAL_METHOD,
        "definitions": {
            k: DEFINITIONS[k]
            for k in (
                "label",
                "new_positives",
                "confirmed",
                "overturned",
                "yield",
                "expected_positives",
                "random_expected_positives",
                "lift",
            )
        },
        "verdicts": {v: int((mine["verdict"] == v).sum()) for v in VERDICTS},
        "totals": {**label_metrics(mine), **outcome_counts(days)},
        "by_country": by_country,
        "included_in_runs": included_in,
        "attribution": attribution,
        "labelled_country_values": batch_value(data.runs, int(batch_id)),
    }
    return dict(jsonable(report))


def batch_sections(report: dict[str, Any]) -> list[Section]:
    """The batch report's content, renderer-neutral."""
    t = report["totals"]
    lines = [
        f"Analyst {report['analyst']}; status {report['status']}; strategy {report['strategy']}.",
        f"Started {(report['started_at'] or '-')[:16]}, closed {(report['closed_at'] or '-')[:16]};"
        f" labels from {(report['first_label_at'] or '-')[:16]} to "
        f"{(report['last_label_at'] or '-')[:16]}.",
        f"Countries queued: {', '.join(report['countries']) or '-'}.",
        f"**{t['new_positives']} new positives**, {t['confirmed']} incident days confirmed, "
        f"{t['overturned']} overturned, from {t['labels']} labels ({report['retractions']} "
        f"undone); yield {yield_cell(t)}; median {num(t['median_seconds'], 0)} s per label; "
        f"expected {num(t['expected_positives'])}, random {num(t['random_expected_positives'])}"
        + ("" if t["lift_vs_random"] is None else f", lift x{t['lift_vs_random']:.1f}")
        + ".",
        "Decisions by verdict: "
        + ", ".join(f"{v} {n}" for v, n in report["verdicts"].items())
        + ".",
        basis_note(t),
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
                "new +",
                "confirmed",
                "overturned",
                "yield [95% CI]",
                "median s",
                "expected",
                "random",
            ],
            [
                [
                    r["country"],
                    num(r["labels"]),
                    num(r["new_positives"]),
                    num(r["confirmed"]),
                    num(r["overturned"]),
                    yield_cell(r),
                    num(r["median_seconds"], 0),
                    num(r["expected_positives"]),
                    num(r["random_expected_positives"]),
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
                pp_interval(a["delta_loco_median_f1"], a["ci"]),
                "; ".join(
                    f"{c} {pp(d.get('delta'))} {d.get('status', '')}"
                    for c, d in a["country_deltas"].items()
                )
                or "-",
            ]
            for a in report["attribution"]
        ]
    elif report["included_in_runs"]:
        what.lines.append("No leave-one-batch-out attribution was computed for it.")
    sections.append(what)
    value = report["labelled_country_values"]
    sections.append(
        Section(
            "What its labels were worth, per country",
            value_lines(value, header=False) + ([HOW_TO_READ] if value["evaluated"] else []),
        )
    )
    sections.append(
        Section("Definitions", [f"{k}: {v}." for k, v in report["definitions"].items()])
    )
    return sections


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
