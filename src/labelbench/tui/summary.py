"""What the CLI prints after the app exits (the app itself cannot print: it owns the terminal)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from labelbench.services.labelling import Progress


@dataclass(frozen=True)
class SessionSummary:
    """The app's exit result."""

    analyst: str
    batch_id: int | None
    closed: bool
    """False when the batch was left open (lost connection at quit): it resumes next time."""
    progress: Progress | None
    decisions_this_run: int
    """Decisions confirmed since this app started (the batch may span several runs)."""


def render_summary(summary: SessionSummary) -> RenderableType:
    """A short report: per-country positives, pace, and what to run next."""
    parts: list[RenderableType] = []
    state = "closed" if summary.closed else "left open (it resumes next time)"
    head = Text.assemble(
        ("labelling session summary", "bold"),
        f"  analyst {summary.analyst}",
        f"  batch {summary.batch_id}" if summary.batch_id is not None else "",
        f"  {state}",
    )
    parts.append(head)
    progress = summary.progress
    if progress is not None:
        parts.append(
            Text(
                f"{progress.decisions} decisions in this batch "
                f"({summary.decisions_this_run} in this run), "
                f"{progress.labels_per_hour:.0f} labels/hour, {progress.items_left} items left"
            )
        )
        table = Table(
            "country",
            "labelled",
            "positives",
            "new positives / goal",
            "confirmed",
            "overturned",
            caption="labelled, positives: this batch; the rest: all analysts, all time. A new "
            "positive is a day no incident marked; confirmed/overturned are incident days.",
        )
        for c in progress.countries:
            table.add_row(
                c.country,
                str(c.session_labels),
                str(c.session_positives),
                f"{c.new_positives} / {c.goal}",
                str(c.confirmed),
                str(c.overturned),
            )
        parts.append(table)
    else:
        parts.append(Text(f"{summary.decisions_this_run} decisions confirmed in this run"))
    parts.append(
        Text.assemble(
            "Every confirmed label is saved. Next: run ",
            ("labelbench retrain", "bold"),
            " to measure what these labels changed.",
        )
    )
    return Group(*parts)
