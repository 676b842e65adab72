"""The first thing an analyst reads: which country-day this is and why it was served."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import pct, verdict


class ItemHeader(Static):
    """Country, date, weekday, regime cluster, queue reason and the item's standing in history."""

    def show(
        self,
        view: SampleView | None,
        *,
        live: bool,
        cursor: int | None,
        history_len: int,
        note: tuple[str, str] | None,
    ) -> None:
        if view is None:
            self.update(
                Text.assemble(
                    ("Queue empty. ", "bold"),
                    "Nothing left for these countries: press ",
                    ("q", "bold"),
                    " to close the batch, or ",
                    ("/", "bold"),
                    " to pick other countries.",
                )
            )
            return
        title = Text.assemble(
            (f" {view.country} ", "bold reverse"),
            " ",
            (view.country_name, "bold"),
            "  ·  ",
            (view.day.isoformat(), "bold"),
            f" {view.weekday}",
            "  ·  cluster ",
            (view.cluster or "none", "bold"),
        )
        if not live and cursor is not None:
            title.append(f"   ◀ decided earlier ({cursor + 1}/{history_len}) ", "reverse yellow")
        lines = [title]
        if view.item is not None:
            item = view.item
            why = Text.assemble(
                ("why: ", "dim"),
                f"{item.purpose} · {item.strategy}",
                f"/{item.scorer}" if item.scorer else "",
                f" · rank {item.rank}",
                "" if view.blind else f" · score {item.score:.2f}",
                f" · expected p {pct(item.expected_p)}" if item.expected_p is not None else "",
            )
            lines.append(why)
            lines.append(Text(item.reason, style="italic"))
        else:
            lines.append(Text("not from the queue (opened directly)", style="dim"))
        status = Text.assemble(
            ("standing label: ", "dim"),
            Text("hidden (blind)", style="dim") if view.blind else verdict(view.current_verdict),
        )
        if view.incident_label:
            status.append("  · incident-derived positive", style="red")
        if note is not None:
            status.append("  · note attached to next decision", style="bold cyan")
        lines.append(status)
        self.update(Text("\n").join(lines))
