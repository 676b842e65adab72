"""What a labelling batch was worth, per labelled country, in the words of the retrain report.

A retrain attributes each batch since production three ways (see :mod:`labelbench.ml.attribution`):
model value on the country's own unseen days, transfer to the other countries (LOCO) and
measurement value (how precisely the country's F1 can now be measured). The retrain report, the
batch report and the weekly report all show it with the lines written here, read from the
stored retrain reports (``metrics.json`` beside each bundle), so the three always agree. Plain
Python (no Rich, no pandas): the report commands stay quick to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labelbench.reports.metrics import RunInfo
from labelbench.reports.render import iso

#: How to read the lines, once per report.
HOW_TO_READ = (
    "How to read this: 'model' is F1 on the country's own unseen days with the batch vs without "
    "it (helped only when its 95% interval excludes 0 and the change beats the noise of random "
    "labels); 'transfer' is the leave-one-country-out median F1 of the other countries; the F1 "
    "interval width says how precisely the country's F1 can be measured, before -> after "
    "(narrower is better)."
)


def interval_estimable(lo: Any, hi: Any) -> bool:
    return lo is not None and hi is not None and hi > lo


def signed_ci(delta: Any, lo: Any, hi: Any) -> str:
    """``+0.12 [+0.04, +0.20]``; identical decisions and collapsed intervals say so."""
    if delta is None:
        return "-"
    if not interval_estimable(lo, hi):
        if delta == 0 and lo == 0 and hi == 0:
            return "+0.00 (no decision changed)"
        return f"{delta:+.2f} [not estimable]"
    return f"{delta:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def batch_value_lines(b: dict[str, Any]) -> list[str]:
    """One retrain's attribution of one batch (an entry of ``retrain --json`` ``batches``)."""
    countries = list(b.get("countries") or [])
    lines = [
        f"Batch {b['batch_id']} ({b.get('analyst') or '?'}, {b.get('labels', '?')} labels in "
        f"{', '.join(countries) or 'no country'}):"
    ]
    for c in countries:
        e = (b.get("own_countries") or {}).get(c)
        if e is None or not e.get("evaluable"):
            why = "not evaluated" if e is None else e.get("reason") or "not evaluable"
            lines.append(f"  {c}: model value on unseen {c} days not measurable ({why})")
            continue
        before, after = e.get("f1_ci_width_before"), e.get("f1_ci_width_after")
        width = (
            f"{'not estimable' if before is None else f'{before:.2f}'} -> "
            f"{'not estimable' if after is None else f'{after:.2f}'}"
        )
        lines.append(
            f"  {c}: model {signed_ci(e['delta'], e['ci_low'], e['ci_high'])} on unseen {c} "
            f"days at 0.5 ({e['verdict']}), "
            f"{signed_ci(e['delta_serving'], e['ci_low_serving'], e['ci_high_serving'])} at "
            f"the serving threshold ({e['verdict_serving']}); F1 interval width {width} "
            f"({e.get('positives_before', '?')} -> {e['positives']} positives to score on)"
        )
    t = b.get("transfer") or {}
    if t.get("delta_loco_median_f1") is not None:
        lines.append(
            f"  transfer: LOCO median F1 over {t.get('countries', '?')} other countries "
            f"{signed_ci(t['delta_loco_median_f1'], t['ci_low'], t['ci_high'])} "
            f"({t.get('verdict', '-')})"
        )
    return lines


def batch_value(runs: Sequence[RunInfo], batch_id: int) -> dict[str, Any]:
    """Every retrain that measured ``batch_id`` (oldest first), or why none did yet.

    ``{"batch_id", "evaluated", "included_in_runs", "runs": [{"run_id", "created_at",
    "own_countries", "transfer", "lines"}], "message"}``; ``included_in_runs`` lists every retrain
    trained on it, ``message`` (None once evaluated) says why none measured it and what to run.
    """
    measured: list[dict[str, Any]] = []
    included: list[RunInfo] = []
    for r in sorted(runs, key=lambda r: (r.created_at, r.run_id)):
        if batch_id not in r.label_batches:
            continue
        included.append(r)
        for b in (r.metrics or {}).get("batches") or []:
            if b.get("batch_id") == batch_id:
                measured.append(
                    {
                        "run_id": r.run_id,
                        "created_at": iso(r.created_at),
                        "own_countries": b.get("own_countries") or {},
                        "transfer": b.get("transfer") or {},
                        "lines": batch_value_lines(b),
                    }
                )
    return {
        "batch_id": batch_id,
        "evaluated": bool(measured),
        "included_in_runs": [r.run_id for r in included],
        "runs": measured,
        "message": None if measured else not_measured(batch_id, included),
    }


def value_lines(value: dict[str, Any], *, header: bool = True) -> list[str]:
    """Report lines for one :func:`batch_value`: the latest retrain's measurement, or why none.

    ``header`` keeps the batch's own line (analyst, labels, countries): the weekly report needs
    it, the batch report already says it.
    """
    if not value["evaluated"]:
        return [value["message"]]
    latest = value["runs"][-1]
    first, *rest = latest["lines"]
    earlier = len(value["runs"]) - 1
    source = f"measured by retrain {latest['run_id']} ({(latest['created_at'] or '')[:10]})"
    if earlier:
        source += f"; {earlier} earlier retrain{'s' if earlier > 1 else ''} measured it too"
    head = [f"{first[:-1]}, {source}:"] if header else [f"{source[0].upper()}{source[1:]}:"]
    return head + [line.strip() for line in rest]


def not_yet(batch_ids: Sequence[int]) -> str:
    """One line for several batches no retrain has trained on yet."""
    ids = ", ".join(map(str, batch_ids))
    return (
        f"No retrain has evaluated batch{'es' if len(batch_ids) > 1 else ''} {ids} yet: run "
        f"`labelbench retrain` to measure what {'their' if len(batch_ids) > 1 else 'its'} labels "
        "were worth."
    )


def not_measured(batch_id: int, included: Sequence[RunInfo]) -> str:
    """Why no retrain report measures the batch, and what to run."""
    if not included:
        return (
            f"No retrain has evaluated batch {batch_id} yet: run `labelbench retrain` to measure "
            "what its labels were worth (model value on the labelled countries' own unseen days, "
            "transfer to other countries, measurement precision)."
        )
    names = ", ".join(r.run_id for r in included)
    unreadable = [f"{r.run_id}: {r.metrics_note}" for r in included if r.metrics is None]
    if unreadable:
        return (
            f"Retrain {names} trained on batch {batch_id}, but its report cannot be read "
            f"({'; '.join(unreadable)})."
        )
    if any(r.alias == "production" for r in included):
        return (
            f"Batch {batch_id} was trained on by {names} without being measured on its own, and "
            "is part of production now: later retrains measure only batches labelled since "
            "production, so its value was not measured."
        )
    return (
        f"Retrain {names} trained on batch {batch_id} without measuring it on its own (a "
        "retrain measures the latest batches since production): run `labelbench retrain "
        "--batches N` with N large enough to include it."
    )
