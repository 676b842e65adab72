"""±14 days around the item: anomaly rate and volume sparklines, incident and label markers."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import INCIDENT_STYLE, VERDICT_STYLE, block

INCIDENT_MARK = {"censorship": "C", "mixed": "M", "disruption": "D"}
LABEL_MARK = {"positive": "+", "negative": "-", "unsure": "?", "skip": "s", "disputed": "!"}
LABEL_WIDTH = 9


class Timeline(Static):
    """Four aligned rows, one cell per day; the shown day is reversed in every row.

    A day takes two columns when the panel is wide enough (markers are easier to read), else one;
    the panel re-renders on resize.
    """

    _view: SampleView | None = None

    def on_resize(self) -> None:
        self.show(self._view)

    def show(self, view: SampleView | None) -> None:
        self._view = view
        if view is None:
            self.update("")
            return
        points = view.timeline
        CELL = 2 if self.content_size.width >= LABEL_WIDTH + 2 * len(points) else 1
        top = max((p.volume for p in points), default=0) or 1
        rows = {
            name: Text(f"{name:<{LABEL_WIDTH}}")
            for name in ("anomaly", "volume", "incident", "label")
        }
        for p in points:
            here = p.day == view.day
            hl = " reverse" if here else ""
            rows["anomaly"].append(block(p.anomaly_rate) * CELL, style=f"red{hl}")
            rows["volume"].append(block(p.volume / top if p.volume else None) * CELL, f"cyan{hl}")
            inc = INCIDENT_MARK.get(p.incident or "", "·")
            rows["incident"].append(
                inc.ljust(CELL), style=INCIDENT_STYLE.get(p.incident or "", "dim") + hl
            )
            lab = LABEL_MARK.get(p.label or "", "·")
            rows["label"].append(
                lab.ljust(CELL), style=VERDICT_STYLE.get(p.label or "", "dim") + hl
            )
        first, last = points[0].day, points[-1].day
        axis_len = CELL * len(points)
        left, mid, right = (
            first.strftime("%d %b"),
            view.day.strftime("%d %b"),
            last.strftime("%d %b"),
        )
        centre = (axis_len - len(mid)) // 2
        axis = left.ljust(centre) + mid
        axis = axis + right.rjust(axis_len - len(axis))
        legend = Text(
            "C cens M mixed D outage · + pos - neg ? unsure ! disputed",
            style="dim",
        )
        text = Text("\n").join(
            [*rows.values(), Text(" " * LABEL_WIDTH + axis, style="dim"), legend]
        )
        text.no_wrap = True
        text.overflow = "crop"
        self.update(text)
