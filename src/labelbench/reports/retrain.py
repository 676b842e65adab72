"""The retrain report: the questions the v3.4 write-up answered, answered automatically.

Input is the JSON-ready dict of a retrain (``RetrainReport.to_dict()``); output is Markdown for
``models/<run>/report.md`` and Rich tables for the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from labelbench.reports.values import batch_value_lines, interval_estimable, signed_ci

SAME_DATA = (
    "The candidate was trained on exactly the labels and features production was trained on: "
    "nothing changed since production."
)

HEADLINE = (
    ("LOCO median F1", "loco_median_f1"),
    ("LOCO mean F1", "loco_mean_f1"),
    ("Stratified F1", "stratified_f1"),
    ("Stratified AUC", "stratified_auc"),
    ("Countries evaluated (LOCO)", "loco_countries"),
)


def _f(x: Any, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def _pp(x: Any) -> str:
    return "-" if x is None else f"{x * 100:+.1f}pp"


def score_ci(f1: Any, lo: Any, hi: Any) -> str:
    """``0.750 [0.44, 0.95]``; a collapsed or missing interval says "not estimable"."""
    if f1 is None:
        return "-"
    if not interval_estimable(lo, hi):
        return f"{f1:.3f} [not estimable]"
    return f"{f1:.3f} [{lo:.2f}, {hi:.2f}]"


def labelled_country_values(data: dict[str, Any]) -> list[str]:
    """The three kinds of value of each labelling batch, one plain line per labelled country.

    Model value (the country's own unseen days, its other labelled days in training), transfer
    (LOCO median F1 over the other countries) and measurement value (the width of the country's
    own F1 interval before -> after the batch). Input: ``retrain --json`` (its ``batches``);
    the batch and weekly reports show the same lines (:mod:`labelbench.reports.values`).
    """
    return [line for b in data.get("batches", []) for line in batch_value_lines(b)]


def within_rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """(country, n, pos, production F1 [CI], candidate F1 [CI], at serving, PR-AUC, note) rows."""
    wc = data.get("within_country") or {}
    cand = wc.get("candidate") or {}
    prod = wc.get("production") or {}
    rows: list[tuple[str, ...]] = []
    for c in sorted(cand):
        m = cand[c]
        if not m["evaluable"]:
            rows.append((c, str(m["n"]), str(m["positives"]), "-", "-", "-", "-",
                         f"not evaluable: {m['reason']}"))  # fmt: skip
            continue
        p = prod.get(c)
        p_cell = score_ci(p["f1"], *p["f1_ci"]) if p and p["evaluable"] else "-"
        note = "small n (few positives)" if m["small_n"] else ""
        rows.append(
            (
                c,
                str(m["n"]),
                str(m["positives"]),
                p_cell,
                score_ci(m["f1"], *m["f1_ci"]),
                score_ci(m["f1_serving"], *m["f1_serving_ci"]),
                _f(m["pr_auc"], 3),
                note,
            )
        )
    return rows


def headline_rows(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, production, candidate, delta) rows."""
    cand, prod = data["candidate"], data["production"]
    rows = []
    for label, key in HEADLINE:
        c = cand.get(key)
        p = prod.get(key) if prod else None
        if key == "loco_countries":
            delta = "-" if p is None else f"{c - p:+d}"
        else:
            delta = "-" if p is None or c is None else _pp(c - p)
        rows.append((label, _f(p), _f(c), delta))
    return rows


def country_rows(data: dict[str, Any], countries: Sequence[str]) -> list[tuple[str, ...]]:
    """(country, n, positives, production F1, candidate F1 [CI], delta [CI], status) rows."""
    cand = data["candidate"]["per_country"]
    prod = data["production"]["per_country"] if data["production"] else {}
    deltas = data.get("deltas", {})
    rows: list[tuple[str, ...]] = []
    for c in countries:
        m = cand.get(c)
        if m is None:
            skipped = data["candidate"]["skipped"].get(c, "no samples")
            rows.append((c, "-", "-", "-", "-", "-", f"not evaluated: {skipped}"))
            continue
        d = deltas.get(c)
        p = prod.get(c)
        ci = score_ci(m["f1"], m["ci_low"], m["ci_high"])
        delta = "-" if d is None else signed_ci(d["delta"], d["ci_low"], d["ci_high"])
        status = "-" if d is None else d["status"]
        if m["small_n"]:
            status += " (small n)"
        rows.append(
            (c, str(m["n"]), str(m["positives"]), _f(p["f1"], 3) if p else "-", ci, delta, status)
        )
    return rows


def render_markdown(
    data: dict[str, Any], watch_list: Sequence[str], high_impact: Sequence[str]
) -> str:
    """The Markdown report written next to the bundle."""
    cand = data["candidate"]
    out = [f"# Retrain {data['run_id']}", ""]
    verdict = "PROMOTED to production" if data["promoted"] else "NOT promoted"
    out += [f"**Decision: {verdict}** ({data['promotion_reason']}).", ""]
    if data.get("same_data_as_production"):
        out += [SAME_DATA, ""]
    out += [
        f"Pipeline `{cand['pipeline']}`, engine `{cand['engine']}`; "
        f"{data['training_samples']:,} training samples ({data['excluded_samples']:,} excluded: "
        "unsure, skip or disputed); label batches included: "
        f"{', '.join(map(str, data['label_batches'])) or 'none'}.",
        "",
        "## Headline (leave-one-country-out)",
        "",
        "| Metric | Production | Candidate | Delta |",
        "|---|---|---|---|",
    ]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in headline_rows(data)]
    skipped = cand["skipped"]
    out += ["", f"{cand['loco_countries']} countries evaluated; {len(skipped)} skipped."]
    if skipped:
        out += ["", "Skipped: " + "; ".join(f"{c} ({why})" for c, why in sorted(skipped.items()))]
    out += ["", "## Promotion gates", "", "| Gate | Value | Threshold | Result | Detail |"]
    out += ["|---|---|---|---|---|"]
    for g in data["gates"]:
        result = _gate_word(g)
        out.append(
            f"| {g['name']} | {_f(g['value'])} | {_f(g['threshold'])} | {result} | {g['detail']} |"
        )
    for title, countries in (("Watch list", watch_list), ("High-impact countries", high_impact)):
        out += ["", f"## {title}", ""]
        out += ["| Country | n | Positives | Production F1 | Candidate F1 [95% CI] | "
                "Delta [95% CI] | Status |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        out += ["| " + " | ".join(row) + " |" for row in country_rows(data, countries)]
    out += ["", "Deltas inside their interval are reported as within noise, never as regressions;",
            "countries with few rows or few positives are marked small n; intervals resample",
            "calendar weeks; a collapsed interval is reported as not estimable.", ""]  # fmt: skip
    w_rows = within_rows(data)
    if w_rows:
        out += ["## Within-country (the country's own unseen days, its other days in training)",
                "", "| Country | n | Positives | Production F1 [95% CI] | Candidate F1 [95% CI] | "
                "Candidate at serving threshold | PR-AUC | Note |",
                "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        out += ["| " + " | ".join(row) + " |" for row in w_rows]
        out.append("")
    values = labelled_country_values(data)
    if values:
        out += ["## What each batch was worth (model, transfer, measurement)", "", "```", *values,
                "```", ""]  # fmt: skip
    out += ["## Labelling batches since production", ""]
    if not data["batches"]:
        out.append("No labelling batch to attribute.")
    else:
        out += ["| Batch | Analyst | Labels | Countries | LOCO median F1 moved [95% CI] |",
                "|---|---|---|---|---|"]  # fmt: skip
        for b in data["batches"]:
            ci = f"{_pp(b['delta_loco_median_f1'])} [{_pp(b['ci_low'])}, {_pp(b['ci_high'])}]"
            out.append(
                f"| {b['batch_id']} | {b['analyst']} | {b['labels']} | "
                f"{', '.join(b['countries'])} | {ci} |"
            )
            for c, d in b["country_deltas"].items():
                out.append(
                    f"|  | | | {c} | F1 {_pp(d['delta'])} [{_pp(d['ci_low'])}, {_pp(d['ci_high'])}]"
                    f" {d['status']} |"
                )
    if data["batches_not_attributed"]:
        out += ["", "Not attributed (older than the attribution limit): "
                + ", ".join(map(str, data["batches_not_attributed"]))]  # fmt: skip
    per = cand["per_country"]
    at_t = [m["f1_at_threshold"] for m in per.values() if m["f1_at_threshold"] is not None]
    at_half = [m["f1"] for m in per.values() if m["f1"] is not None]
    if at_t and at_half:
        import statistics

        out += ["", "## Per-country thresholds (fitted out-of-fold, shrunk to the global)", "",
                f"Median F1 at 0.5: {statistics.median(at_half):.4f}; at the per-country "
                f"threshold: {statistics.median(at_t):.4f}."]  # fmt: skip
    return "\n".join(out) + "\n"


def rich_report(
    data: dict[str, Any], watch_list: Sequence[str], high_impact: Sequence[str]
) -> Group:
    """Terminal rendering: headline, gates, watch list and high-impact tables, batches."""
    head = Table("metric", "production", "candidate", "delta", title=f"retrain {data['run_id']}")
    for metric, prod, cand, delta in headline_rows(data):
        head.add_row(metric, prod, cand, delta)
    gates = Table("gate", "value", "threshold", "result", "detail", title="promotion gates")
    for g in data["gates"]:
        style = {True: "green", False: "red", None: "dim"}[g["passed"]]
        word = _gate_word(g)
        if data.get("production") is None and g["passed"] is False:
            word += " (baseline promoted regardless)"
        gates.add_row(g["name"], _f(g["value"]), _f(g["threshold"]), f"[{style}]{word}[/]",
                      g["detail"])  # fmt: skip
    tables: list[Any] = [head, gates]
    for title, countries in (("watch list", watch_list), ("high-impact", high_impact)):
        t = Table("country", "n", "pos", "prod F1", "cand F1 [CI]", "delta [CI]", "status",
                  title=title)  # fmt: skip
        for cells in country_rows(data, countries):
            t.add_row(*cells)
        tables.append(t)
    if data["batches"]:
        b = Table("batch", "analyst", "labels", "countries", "median F1 moved [CI]",
                  title="labelling batches")  # fmt: skip
        for x in data["batches"]:
            moved = f"{_pp(x['delta_loco_median_f1'])} [{_pp(x['ci_low'])}, {_pp(x['ci_high'])}]"
            b.add_row(
                str(x["batch_id"]), x["analyst"], str(x["labels"]), ", ".join(x["countries"]), moved
            )
        tables.append(b)
    w_rows = within_rows(data)
    if w_rows:
        w = Table("country", "n", "pos", "prod F1 [CI]", "cand F1 [CI]", "cand @serving [CI]",
                  "PR-AUC", "note", title="within-country (own unseen days)")  # fmt: skip
        for cells in w_rows:
            w.add_row(*cells)
        tables.append(w)
    values = labelled_country_values(data)
    if values:
        tables.append(Text("\n".join(values)))
    if data.get("same_data_as_production"):
        tables.append(Text(SAME_DATA))
    return Group(*tables)


def _gate_word(g: dict[str, Any]) -> str:
    word = {True: "PASS", False: "FAIL", None: "n/a"}[g["passed"]]
    return f"{word} (advisory)" if g.get("advisory") else word
