"""Context around the day: neighbour countries, incidents touching it, earlier labels."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from labelbench.services.item_view import SampleView
from labelbench.tui.format import INCIDENT_STYLE, pct, verdict


class Neighbours(Static):
    """Neighbours' anomaly rate, volume and incident that day (most anomalous first)."""

    def show(self, view: SampleView | None) -> None:
        if view is None or not view.neighbours:
            self.update(Text("no neighbour signal that day", style="dim"))
            return
        lines = []
        for n in view.neighbours:
            line = Text(f"{n.country}  {pct(n.anomaly_rate):>4} anom  {n.volume:>4} rows")
            if n.incident:
                line.append(f"  {n.incident}", style=INCIDENT_STYLE.get(n.incident, ""))
            lines.append(line)
        self.update(Text("\n").join(lines))


class Incidents(Static):
    """Incidents of the country covering the shown day, with their citation."""

    def show(self, view: SampleView | None) -> None:
        if view is None or not view.incidents:
            self.update(Text("no incident covers this day", style="dim"))
            return
        lines = []
        for i in view.incidents:
            lines.append(
                Text.assemble(
                    (i.incident_type, INCIDENT_STYLE.get(i.incident_type, "")),
                    f" {i.first_seen:%d %b}–{i.last_seen:%d %b}",
                    f" ({i.source})" if i.source else "",
                )
            )
            if i.citation_url:
                lines.append(Text(f"  {i.citation_url}", style="dim underline"))
        self.update(Text("\n").join(lines))


class LabelHistory(Static):
    """Every earlier event on this sample by anyone (decisions, retractions, adjudications)."""

    def show(self, view: SampleView | None) -> None:
        if view is not None and view.blind:
            self.update(Text("hidden for a blind second opinion", style="dim"))
            return
        if view is None or not view.labels:
            self.update(Text("no earlier labels", style="dim"))
            return
        lines = []
        for lab in reversed(view.labels):
            line = Text.assemble(
                f"{lab.created_at:%Y-%m-%d %H:%M} ",
                (lab.analyst, "bold"),
                " ",
                verdict(lab.verdict),
            )
            if lab.event != "decision":
                line.append(f" ({lab.event})", style="dim")
            if lab.evidence_changed:
                line.append(" evidence changed since", style="yellow")
            lines.append(line)
            if lab.note:
                lines.append(Text(f"  “{lab.note}”", style="italic"))
            if lab.citation_url:
                lines.append(Text(f"  {lab.citation_url}", style="dim underline"))
        self.update(Text("\n").join(lines))
