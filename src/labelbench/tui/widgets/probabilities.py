"""Model probabilities (base, cluster head, stack, final) against the country's threshold."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import bar, pct

PARTS = (("base", "base"), ("cluster", "cluster head"), ("stack", "stack"), ("final", "final"))


class Probabilities(Static):
    """Bars for each model part; the threshold is printed and marked on every bar."""

    BAR = 14

    def show(self, view: SampleView | None, *, model: str | None) -> None:
        if view is None:
            self.update("")
            return
        probs = view.probabilities
        if view.blind:
            self.update(
                Text.assemble(
                    ("model hidden", "bold"),
                    "\nsecond opinion: judge the\nevidence on its own",
                )
            )
            return
        if all(v is None for v in probs.values()):
            self.update(
                Text.assemble(
                    ("no model yet", "bold"),
                    "\nthe queue uses evidence\nheuristics",
                    f"\n(training: {model})" if model else "",
                )
            )
            return
        lines = []
        mark = round(view.threshold * self.BAR)
        for key, name in PARTS:
            value = probs.get(key)
            cells = bar(value, self.BAR)
            cells = cells[:mark] + "│" + cells[mark + 1 :] if 0 <= mark < self.BAR else cells
            above = value is not None and value >= view.threshold
            style = "bold red" if above and key == "final" else ("red" if above else "")
            lines.append(Text.assemble(f"{name:<12} ", (cells, style), f" {pct(value):>4}"))
        lines.append(Text(f"threshold {view.country}: {pct(view.threshold)}", style="dim"))
        final = probs.get("final")
        if final is not None:
            lines.append(
                Text("model says: censorship", style="bold red")
                if final >= view.threshold
                else Text("model says: no censorship", style="bold green")
            )
        self.update(Text("\n").join(lines))
