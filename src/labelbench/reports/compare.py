"""`models compare RUN_A RUN_B`: two runs' stored LOCO evaluations side by side, per country.

Each run's retrain report (``metrics.json``) holds per-country F1 with its bootstrap interval,
precision, recall and support; nothing is retrained. Precision and recall intervals are Wilson
intervals on the counts those figures imply (recall = TP / positives, precision = TP /
predicted positives), so every figure carries its uncertainty: for n < 30 a 15pp swing is noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelbench.errors import InputError
from labelbench.reports.render import (
    Section,
    interval,
    num,
    pp,
    render_json,
    render_text,
    rich_sections,
    sections_markdown,
)
from labelbench.reports.stats import wilson_interval

FORMATS = ("text", "md", "json")


def _rate_ci(hits: float | None, total: float | None) -> list[float] | None:
    if hits is None or not total:
        return None
    ci = wilson_interval(round(hits), round(total))
    return list(ci) if ci else None


def _country(m: dict[str, Any] | None) -> dict[str, Any] | None:
    """One run's figures for one country, with precision and recall intervals."""
    if m is None:
        return None
    positives, recall, precision = m.get("positives"), m.get("recall"), m.get("precision")
    tp = None if recall is None or positives is None else recall * positives
    predicted = tp / precision if tp is not None and precision else None
    return {
        "n": m.get("n"),
        "positives": positives,
        "precision": precision,
        "precision_ci": _rate_ci(tp, predicted),
        "recall": recall,
        "recall_ci": _rate_ci(tp, positives),
        "f1": m.get("f1"),
        "f1_ci": None if m.get("ci_low") is None else [m.get("ci_low"), m.get("ci_high")],
        "small_n": m.get("small_n"),
    }


def _side(run: dict[str, Any]) -> dict[str, Any]:
    metrics = run.get("metrics") or {}
    candidate = metrics.get("candidate") or {}
    head = {**run.get("headline", {}), **{k: v for k, v in candidate.items() if k != "per_country"}}
    return {
        "run_id": run["run_id"],
        "created_at": run["created_at"],
        "pipeline": run["pipeline"],
        "engine": run["engine"],
        "alias": run["alias"],
        "gates_passed": run["gates_passed"],
        "compared_with": metrics.get("production_run_id"),
        "note": run.get("note"),
        "loco_median_f1": head.get("loco_median_f1"),
        "loco_mean_f1": head.get("loco_mean_f1"),
        "stratified_f1": head.get("stratified_f1"),
        "stratified_auc": head.get("stratified_auc"),
        "gates": list(metrics.get("gates") or []),
    }


def build_comparison(
    run_a: dict[str, Any], run_b: dict[str, Any], countries: Sequence[str]
) -> dict[str, Any]:
    """The JSON-ready comparison (``--format json``): headline, gates, per-country rows."""
    per = [
        ((r.get("metrics") or {}).get("candidate") or {}).get("per_country", {})
        for r in (run_a, run_b)
    ]
    rows = []
    for c in countries:
        a, b = _country(per[0].get(c)), _country(per[1].get(c))
        if a is None and b is None:
            continue
        fa, fb = (a or {}).get("f1"), (b or {}).get("f1")
        rows.append(
            {
                "country": c,
                "a": a,
                "b": b,
                "delta_f1": None if fa is None or fb is None else round(fb - fa, 6),
            }
        )
    missing = [c for c in countries if c not in {r["country"] for r in rows}]
    return {
        "a": _side(run_a),
        "b": _side(run_b),
        "countries": rows,
        "not_evaluated": missing,
    }


def _figure(value: Any, ci: Any) -> str:
    return "-" if value is None else f"{num(value)} {interval(ci, percent=False)}"


def _gate_rows(report: dict[str, Any]) -> list[list[str]]:
    names = list(dict.fromkeys(g["name"] for side in ("a", "b") for g in report[side]["gates"]))
    rows = []
    for name in names:
        cells = [name]
        for side in ("a", "b"):
            g = next((g for g in report[side]["gates"] if g["name"] == name), None)
            if g is None:
                cells.append("-")
                continue
            verdict = "pass" if g.get("passed") else "FAIL"
            cells.append(f"{verdict}: {num(g.get('value'), 3)} (needs {g.get('threshold')})")
        rows.append(cells)
    return rows


def compare_sections(report: dict[str, Any]) -> list[Section]:
    a, b = report["a"], report["b"]
    lines = []
    for key, side in (("A", a), ("B", b)):
        lines.append(
            f"{key} = {side['run_id']} ({side['created_at'][:16]}, {side['pipeline']}/"
            f"{side['engine']}{', ' + side['alias'] if side['alias'] else ''}): LOCO median F1 "
            f"{num(side['loco_median_f1'], 3)}, mean {num(side['loco_mean_f1'], 3)}, "
            f"stratified F1 {num(side['stratified_f1'], 3)}, AUC {num(side['stratified_auc'], 3)}."
        )
        if side["note"]:
            lines.append(f"{key}: {side['note']} (per-country figures unavailable).")
    lines.append(
        "Intervals are 95%: F1 bootstrap (from the retrain), precision and recall Wilson. "
        "Countries under 30 samples are marked small n: a 15pp swing there is noise."
    )
    sections = [Section(f"Models compared: {a['run_id']} (A) vs {b['run_id']} (B)", lines)]
    rows = []
    for r in report["countries"]:
        for key in ("a", "b"):
            m = r[key] or {}
            rows.append(
                [
                    r["country"] if key == "a" else "",
                    key.upper(),
                    num(m.get("n")) + (" small n" if m.get("small_n") else ""),
                    num(m.get("positives")),
                    _figure(m.get("precision"), m.get("precision_ci")),
                    _figure(m.get("recall"), m.get("recall_ci")),
                    _figure(m.get("f1"), m.get("f1_ci")),
                    pp(r["delta_f1"]) if key == "b" else "",
                ]
            )
    per_country = Section(
        "Per country (LOCO, held out)",
        [f"Not evaluated in either run: {', '.join(report['not_evaluated'])}."]
        if report["not_evaluated"]
        else [],
        [
            "country",
            "run",
            "n",
            "support (+)",
            "precision [CI]",
            "recall [CI]",
            "F1 [CI]",
            "F1 B-A",
        ],
        rows,
    )
    sections.append(per_country)
    sections.append(
        Section(
            "Promotion gates",
            [
                "Each run's gates as its retrain applied them, against the production model of "
                f"that day (A vs {a['compared_with'] or 'none'}, B vs "
                f"{b['compared_with'] or 'none'}). A run retrained with no production model is "
                "promoted as the baseline whatever its gates say."
            ],
            ["gate", "A", "B"],
            _gate_rows(report),
        )
    )
    return sections


def render_compare(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return render_json(report)
    if fmt == "md":
        return sections_markdown(compare_sections(report))
    if fmt == "text":
        return render_text(rich_sections(compare_sections(report)))
    raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
