"""The day's evidence rows in a scrollable table, with per-source counts above it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import num

COLUMNS = (
    ("source", 14),
    ("level", 6),
    ("method", 8),
    ("domain", 18),
    ("conf", 5),
    ("signal", 16),
    ("kind", 16),
    ("link", 44),
)
"""Most telling first: on a narrow panel the table scrolls and the right-hand columns go first.
Fixed widths: no re-layout between items, and the same picture every time (snapshot tests)."""


class EvidencePanel(Vertical):
    """Evidence of the shown day. The table is focusable so up/down/pgup scroll long days."""

    def compose(self) -> ComposeResult:
        yield Static(id="source-counts")
        table: DataTable[str | Text] = DataTable(
            id="evidence-table", cursor_type="row", zebra_stripes=True
        )
        yield table

    def on_mount(self) -> None:
        table: DataTable[str | Text] = self.query_one("#evidence-table", DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)

    def show(self, view: SampleView | None) -> None:
        counts = self.query_one("#source-counts", Static)
        table: DataTable[str | Text] = self.query_one("#evidence-table", DataTable)
        table.clear()
        if view is None:
            counts.update("")
            return
        counts.update(
            Text.assemble(
                (f"{len(view.evidence)} rows  ", "bold"),
                "  ".join(f"{s} {n}" for s, n in sorted(view.source_counts.items())),
            )
        )
        for e in view.evidence:
            style = "red" if e.anomalous else ""
            signal = e.signal_type or ""
            if e.signal_value is not None:
                signal += f" {num(e.signal_value)}"
                if e.signal_baseline is not None:
                    signal += f"/{num(e.signal_baseline)}"
            table.add_row(
                Text(e.source, style=style),
                e.signal_level or "",
                e.blocking_method or "",
                e.domain or "",
                num(e.confidence),
                signal.strip(),
                e.kind,
                e.url or "",
            )
