"""Session progress: positives per target country, goal, pace, items left, baseline training."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from labelbench.services.labelling import Progress
from labelbench.tui.format import bar


class ProgressPanel(Vertical):
    """The numbers that keep an analyst going, plus the background training status."""

    def compose(self) -> ComposeResult:
        yield Static(id="progress-text")
        yield Static(id="training-text")
        yield ProgressBar(id="training-bar", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#training-bar").display = False

    def show(self, progress: Progress | None) -> None:
        text = self.query_one("#progress-text", Static)
        if progress is None:
            text.update(Text("starting session…", style="dim"))
            return
        lines = [
            Text.assemble(("decided ", "dim"), (str(progress.decisions), "bold")),
            Text.assemble(("pace    ", "dim"), (f"{progress.labels_per_hour:.0f}", "bold"), " /h"),
            Text.assemble(("left    ", "dim"), (str(progress.items_left), "bold"), " items"),
            Text(""),
            Text("    +sess  new/goal", style="dim"),
        ]
        for c in progress.countries:
            done = min(1.0, c.new_positives / c.goal) if c.goal else 1.0
            style = "green" if c.new_positives >= c.goal else ""
            lines.append(
                Text.assemble(
                    f"{c.country:<4}",
                    (f"{c.session_positives:>4}", "bold green" if c.session_positives else "dim"),
                    f"  {c.new_positives:>3}/{c.goal:<3} ",
                    (bar(done, 6), style or "cyan"),
                )
            )
        text.update(Text("\n").join(lines))

    def training(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """Show background-training status; a bar while ``total`` is known."""
        self.query_one("#training-text", Static).update(Text(message, style="italic"))
        progress_bar = self.query_one("#training-bar", ProgressBar)
        if total:
            progress_bar.display = True
            progress_bar.update(total=total, progress=done or 0)
        else:
            progress_bar.display = False
