"""The 16 production features beside the country's typical values; unusual ones highlighted."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import num


class FeatureTable(Static):
    """A static Rich table: 16 rows fit without scrolling, so no focus or cursor is needed."""

    def show(self, view: SampleView | None) -> None:
        table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
        table.add_column("feature", no_wrap=True, overflow="ellipsis")
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("typical", justify="right", no_wrap=True)
        table.add_column("z", justify="right", no_wrap=True)
        if view is not None:
            for row in view.features:
                style = "bold yellow" if row.unusual else ""
                table.add_row(
                    Text(("! " if row.unusual else "  ") + row.name, style=style),
                    Text(num(row.value), style=style),
                    Text(num(row.typical), style="dim"),
                    Text(f"{row.z:+.1f}", style=style or "dim"),
                )
        self.update(table)
