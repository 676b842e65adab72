"""The weekly report as sections (text, Markdown, HTML), CSV rows and three charts.

Many countries stay readable: tables list the countries with labels and summarise the rest in
one line, "not started" advice is one line however many countries it covers, and each chart
draws at most :data:`TOP_N` countries (those with the most labels), naming how many it leaves
out.
"""

from __future__ import annotations

from typing import Any

from labelbench.errors import InputError
from labelbench.reports.render import (
    Section,
    interval,
    listing,
    no_data,
    num,
    pct,
    png,
    pp,
    pp_interval,
    pyplot,
    render_json,
    render_text,
    rich_sections,
    sections_html,
    sections_markdown,
)
from labelbench.reports.values import HOW_TO_READ, not_yet, value_lines

FORMATS = ("text", "md", "html", "csv", "json")
#: Most countries a chart draws (the rest are named in its title as "n more").
TOP_N = 8

#: Shared first columns of the week and cumulative tables: what the labels found.
FOUND_HEADERS = ["country", "labels", "new +", "confirmed", "overturned", "yield [95% CI]"]
#: The week's table adds what the model promised and what random sampling would have found;
WEEK_HEADERS = [*FOUND_HEADERS, "expected", "random", "lift"]
#: the cumulative table adds the analysts' effort.
CUMULATIVE_HEADERS = [*FOUND_HEADERS, "unsure", "skip", "median s"]


MOVEMENT_HEADERS = [
    "country",
    "n",
    "pos",
    "production F1 [CI]",
    "candidate F1 [CI]",
    "delta [CI]",
    "status",
]
ATTRIBUTION_HEADERS = [
    "batch",
    "this week",
    "analyst",
    "labels",
    "countries",
    "median F1 [CI]",
    "per country",
]


def yield_cell(m: dict[str, Any]) -> str:
    return "-" if m["yield"] is None else f"{pct(m['yield'], 1)} {interval(m['yield_ci'])}"


def basis_note(totals: dict[str, Any]) -> str:
    basis = totals.get("random_basis")
    if basis:
        return f"random baseline from: {basis}"
    return "random baseline: none (no queued labels from a build with a model)"


def _yield_rows(rows: list[dict[str, Any]], key: str | None) -> list[list[str]]:
    """Week rows (``key`` None) or cumulative rows (``key`` "cumulative")."""
    out = []
    for r in rows:
        m = r if key is None else r[key]
        found = [
            r["country"],
            num(m["labels"]),
            num(m["new_positives"]),
            num(m["confirmed"]),
            num(m["overturned"]),
            yield_cell(m),
        ]
        if key is None:
            lift = m["lift_vs_random"]
            found += [
                num(m["expected_positives"]),
                num(m["random_expected_positives"]),
                "-" if lift is None else f"x{lift:.1f}",
            ]
        else:
            found += [pct(m["unsure_rate"]), pct(m["skip_rate"]), num(m["median_seconds"], 0)]
        out.append(found)
    return out


def _agreement_rows(summary: dict[str, Any]) -> list[list[str]]:
    items = [("overall", summary["overall"]), *summary["per_country"].items()]
    return [
        [
            name,
            num(s["pairs"]),
            num(s["observed_agreement"]),
            num(s["positive_agreement"]),
            num(s["gwet_ac1"]),
            num(s["cohen_kappa"]),
        ]
        for name, s in items
    ]


def _since_cell(r: dict[str, Any]) -> str:
    n = num(r["labels_since_last_positive"])
    return n if r["last_positive_at"] else f"{n} (none yet)"


def _header(report: dict[str, Any]) -> Section:
    wk, t = report["week"], report["totals"]
    start, end, now = report["start"][:10], report["end"][:10], (report["generated_at"] or "")
    if report["to_date"]:
        title = f"Weekly labelling report {wk}, to date"
        span = (
            f"Week in progress: {start} to {now[:16].replace('T', ' ')} UTC "
            "(`--last-week` for the last complete week)."
        )
    else:
        title = f"Weekly labelling report {wk}"
        span = f"{start} to {end} (exclusive, UTC); generated {now[:16].replace('T', ' ')}."
    lines = [
        span,
        f"Countries: {listing(_priority_first(report, report['scope']), 20)} "
        "(`--countries watch|all-sparse|all` widens).",
    ]
    if report["empty"]:
        lines.insert(0, f"**{report['message'][0].upper()}{report['message'][1:]}.**")
    w, c = t["week"], t["cumulative"]
    lines.append(
        f"This week: **{w['new_positives']} new positives**; incident days confirmed "
        f"{w['confirmed']}, overturned {w['overturned']}; {w['labels']} labels. Cumulative: "
        f"{c['new_positives']} new positives; confirmed {c['confirmed']}, overturned "
        f"{c['overturned']}; {c['labels']} labels. Target: {report['target']} new positives "
        "per country."
    )
    return Section(title, lines)


def _priority_first(report: dict[str, Any], codes: list[str]) -> list[str]:
    """The mission's countries lead any list of idle countries."""
    targets = {r["country"] for r in report["countries"] if r["is_target"]}
    return sorted(codes, key=lambda c: (c not in targets, c))


def _recommendation_lines(report: dict[str, Any]) -> list[str]:
    recs = report["recommendations"]
    idle = _priority_first(report, [r["country"] for r in recs if r["action"] == "not_started"])
    lines = [r["message"] for r in recs if r["action"] != "not_started"]
    if len(idle) == 1:
        lines.insert(0, next(r["message"] for r in recs if r["action"] == "not_started"))
    elif idle:
        lines.insert(0, f"Not started ({len(idle)}): {listing(idle, 20)}; give them analyst time.")
    return lines or ["No countries in scope."]


def weekly_sections(report: dict[str, Any]) -> list[Section]:
    """The report's content, renderer-neutral."""
    rows, wk = report["countries"], report["week"]
    labelled = [r for r in rows if r["cumulative"]["labels"]]
    idle = _priority_first(report, [r["country"] for r in rows if not r["cumulative"]["labels"]])
    idle_line = [f"No labels yet: {listing(idle, 20)}."] if idle else []
    sections = [_header(report), Section("Recommendations", _recommendation_lines(report))]
    t = report["totals"]
    sections.append(
        Section(
            f"This week ({wk}{', to date' if report['to_date'] else ''})",
            [
                f"yield = labels that found a new positive / labels; {basis_note(t['week'])}; "
                "lift = those labels among queued ones / random."
            ]
            if not report["empty"]
            else [f"No labels in {wk} in these countries."],
            WEEK_HEADERS,
            _yield_rows([r for r in rows if r["labels"]], None),
        )
    )
    sections.append(
        Section(
            f"Cumulative (through {wk})",
            [basis_note(t["cumulative"]), *idle_line],
            CUMULATIVE_HEADERS,
            _yield_rows(labelled, "cumulative"),
        )
    )
    window = report["options"]["window"]
    progress = Section(
        "Progress to target",
        [],
        [
            "country",
            "new positives",
            "target",
            "labels since last new +",
            f"yield last {window}",
        ],
        [
            [
                r["country"],
                num(r["cumulative_new_positives"]),
                num(r["target"]) + (" (met)" if r["at_target"] else ""),
                _since_cell(r),
                "-"
                if r["recent_yield"] is None
                else f"{pct(r['recent_yield'])} {interval(r['recent_yield_ci'])}",
            ]
            for r in labelled
        ],
    )
    if labelled:
        sections.append(progress)
    sections += _agreement_sections(report)
    sections += _movement_sections(report)
    sections += _value_sections(report)
    sections.append(
        Section("Definitions", [f"{k}: {v}." for k, v in report["definitions"].items()])
    )
    return sections


def _agreement_sections(report: dict[str, Any]) -> list[Section]:
    """Week and cumulative agreement; one section when they are the same figures."""
    out = []
    scopes = [(f"week {report['week']}", "week"), ("cumulative", "cumulative")]
    if report["agreement"]["week"] == report["agreement"]["cumulative"]:
        scopes = [(f"week {report['week']} and cumulative", "week")]
    for label, key in scopes:
        a = report["agreement"][key]
        if not a["double_labelled"]:
            out.append(Section(f"Agreement ({label})", ["No double-labelled days."]))
            continue
        lines = [
            f"{a['double_labelled']} double-labelled days; "
            f"{a['excluded_unsure_or_skip']} left out (unsure/skip). Kappa misleads when "
            "positives are rare: read positive agreement and AC1 first."
        ]
        if a["note"]:
            lines.append(a["note"][0].upper() + a["note"][1:] + ".")
        if not a["overall"]["pairs"]:
            lines.append("No positive/negative pairs to compare.")
        out.append(
            Section(
                f"Agreement ({label})",
                lines,
                ["scope", "pairs", "observed", "positive agreement", "Gwet AC1", "Cohen kappa"],
                _agreement_rows(a) if a["overall"]["pairs"] else [],
            )
        )
    return out


def _movement_sections(report: dict[str, Any]) -> list[Section]:
    if not report["model_movement"]:
        return [Section("Model movement", ["No retrain used this week's batches."])]
    out = []
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
                f"LOCO median F1: production {num(lm['production'], 3)}, candidate "
                f"{num(lm['candidate'], 3)}; promoted: {num(run['promoted'])}."
            )
        out.append(
            Section(
                f"Model movement: {run['run_id']}",
                lines,
                MOVEMENT_HEADERS,
                [
                    [
                        c["country"],
                        num(c["n"]),
                        num(c["positives"]),
                        f"{num(c['production_f1'], 3)} {interval(c['production_ci'], False)}",
                        f"{num(c['candidate_f1'], 3)} {interval(c['candidate_ci'], False)}"
                        + (" small n" if c["candidate_small_n"] else ""),
                        pp_interval(c["delta"], c["delta_ci"]),
                        c["status"] or "-",
                    ]
                    for c in run["countries"]
                ],
            )
        )
        if run["attribution"]:
            out.append(
                Section(
                    f"Batch attribution: {run['run_id']}",
                    [
                        "LOCO median F1 change when the batch is left out of the retrain "
                        "(positive = the batch helped)."
                    ],
                    ATTRIBUTION_HEADERS,
                    [
                        [
                            num(b["batch_id"]),
                            num(b["in_scope"]),
                            b["analyst"] or "-",
                            num(b["labels"]),
                            ", ".join(b["countries"]),
                            pp_interval(b["delta_loco_median_f1"], b["ci"]),
                            "; ".join(
                                f"{c} {pp(d.get('delta'))} {d.get('status', '')}".rstrip()
                                for c, d in b["country_deltas"].items()
                            )
                            or "-",
                        ]
                        for b in run["attribution"]
                    ],
                )
            )
    return out


def _value_sections(report: dict[str, Any]) -> list[Section]:
    """Per labelled country, what each of the week's batches was worth (model, transfer,
    measurement), from the latest retrain that measured it; batches no retrain has seen yet
    are named once, with the command to run."""
    values = report.get("labelled_country_values") or []
    if not values:
        return []
    lines: list[str] = []
    unseen = [v["batch_id"] for v in values if not v["included_in_runs"]]
    for v in values:
        if v["batch_id"] not in unseen:
            lines += value_lines(v)
    if unseen:
        lines.append(not_yet(unseen))
    if any(v["evaluated"] for v in values):
        lines.append(HOW_TO_READ)
    return [Section("What this week's labels were worth, per country", lines)]


# --- CSV ---------------------------------------------------------------------------------------

CSV_FIELDS = (
    "labels",
    "samples",
    "positives",
    "new_positive_labels",
    "new_positives",
    "confirmed",
    "overturned",
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
_CSV_TAIL = (
    "labels_since_last_positive",
    "cumulative_new_positives",
    "target",
    "at_target",
    "is_target",
    "recent_yield",
)


def render_csv(report: dict[str, Any]) -> str:
    """One row per country: the week's figures, then ``cum_``-prefixed cumulative ones."""
    import pandas as pd

    records = []
    for r in report["countries"]:
        rec: dict[str, Any] = {"week": report["week"], "country": r["country"]}
        for prefix, m in (("", r), ("cum_", r["cumulative"])):
            for k in CSV_FIELDS:
                rec[prefix + k] = m[k]
            ci = m["yield_ci"] or [None, None]
            rec[prefix + "yield_ci_low"], rec[prefix + "yield_ci_high"] = ci
        rec.update({k: r[k] for k in _CSV_TAIL})
        records.append(rec)
    columns = (
        ["week", "country"]
        + [p + k for p in ("", "cum_") for k in (*CSV_FIELDS, "yield_ci_low", "yield_ci_high")]
        + list(_CSV_TAIL)
    )
    return pd.DataFrame.from_records(records, columns=columns).to_csv(index=False)


# --- charts ------------------------------------------------------------------------------------


def _busiest(report: dict[str, Any]) -> tuple[list[str], int]:
    """The countries charts draw (most labels first, at most TOP_N) and how many are left out."""
    ranked = sorted(
        (r for r in report["countries"] if r["cumulative"]["labels"]),
        key=lambda r: (-r["cumulative"]["labels"], r["country"]),
    )
    names = [r["country"] for r in ranked]
    return names[:TOP_N], max(0, len(names) - TOP_N)


def _more(left_out: int) -> str:
    return f" ({left_out} more countries with labels: see the tables)" if left_out else ""


def charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(title, PNG data URI): new-positive yield by week, new positives vs target, F1 across
    retrains; each with at most TOP_N countries."""
    import numpy as np

    plt = pyplot()
    shown, left_out = _busiest(report)
    out = []

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    hist = [h for h in report["history"] if h["country"] in shown]
    weeks = list(dict.fromkeys(h["week"] for h in report["history"]))
    if any(h["labels"] for h in hist):
        for c in shown:
            pts = [(weeks.index(h["week"]), h["yield"]) for h in hist if h["country"] == c]
            y = [np.nan if v is None else v for _, v in pts]
            ax.plot([x for x, _ in pts], y, marker="o", label=c)
        ax.set_xticks(range(len(weeks)), [w[-3:] for w in weeks])
        ax.set_ylim(bottom=0)
        ax.set_ylabel("new-positive yield")
        ax.legend(fontsize="small", ncol=4)
    else:
        no_data(ax, "no labels yet")
    title = "New-positive yield per week" + _more(left_out)
    ax.set_title("New-positive yield per week", fontsize="medium")
    out.append((title, png(fig)))

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    rows = sorted(
        report["countries"],
        key=lambda r: (-r["cumulative_new_positives"], not r["is_target"], r["country"]),
    )
    bars = rows[:TOP_N]  # zeros too: a priority country with none is the news
    if bars:
        names = [r["country"] for r in bars]
        ax.bar(
            names,
            [r["cumulative_new_positives"] for r in bars],
            color=["tab:green" if r["at_target"] else "tab:blue" for r in bars],
        )
        ax.axhline(report["target"], color="tab:red", linestyle="--", label="target")
        ax.set_ylabel("new positives")
        ax.legend(fontsize="small")
    else:
        no_data(ax, "no countries in scope")
    ax.set_title(f"New positives vs target (through {report['week']})", fontsize="medium")
    rest = len(rows) - len(bars)
    more = f" ({rest} more countries: see the tables)" if rest else ""
    out.append(("New positives vs target" + more, png(fig)))

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    f1 = [r for r in report["f1_history"] if r["f1"] is not None]
    f1_countries = list(dict.fromkeys(r["country"] for r in f1))
    drawn = [c for c in f1_countries if c in shown] or f1_countries[:TOP_N]
    if drawn:
        runs = list(dict.fromkeys(r["run_id"] for r in f1))
        for k, c in enumerate(drawn):
            runs_of = [r for r in f1 if r["country"] == c]
            at = np.array([runs.index(r["run_id"]) for r in runs_of], dtype=float) + 0.06 * k
            f1s = np.array([r["f1"] for r in runs_of], dtype=float)
            lows = np.array([r["f1"] if r["ci_low"] is None else r["ci_low"] for r in runs_of])
            highs = np.array([r["f1"] if r["ci_high"] is None else r["ci_high"] for r in runs_of])
            ax.errorbar(
                at, f1s, yerr=np.vstack([f1s - lows, highs - f1s]), marker="o", capsize=3, label=c
            )
        ax.set_xticks(range(len(runs)), [r[:15] for r in runs], rotation=20, ha="right")
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("candidate LOCO F1 (95% CI)")
        ax.legend(fontsize="small", ncol=4)
    else:
        no_data(ax, "no retrains with metrics yet")
    ax.set_title("F1 per country across retrains", fontsize="medium")
    out.append(("F1 per country across retrains" + _more(len(f1_countries) - len(drawn)), png(fig)))
    return out


# --- entry points ------------------------------------------------------------------------------


def rich_report(report: dict[str, Any]) -> Any:
    return rich_sections(weekly_sections(report))


def render_markdown(report: dict[str, Any]) -> str:
    """Markdown for a wiki page."""
    return sections_markdown(weekly_sections(report))


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
