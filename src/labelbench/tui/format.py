"""Small text helpers shared by the widgets (no Textual, no I/O: easy to test and reuse)."""

from __future__ import annotations

from rich.text import Text

BLOCKS = " ▁▂▃▄▅▆▇█"
VERDICT_STYLE = {
    "positive": "bold green",
    "negative": "bold red",
    "unsure": "bold yellow",
    "skip": "dim",
    "disputed": "bold magenta",
}
VERDICT_TEXT = {
    "positive": "censorship",
    "negative": "not censorship",
    "unsure": "unsure",
    "skip": "skipped",
    "disputed": "disputed",
}
INCIDENT_STYLE = {"censorship": "bold red", "mixed": "bold magenta", "disruption": "bold blue"}


def pct(value: float | None) -> str:
    """A probability or rate as a percentage; an em dash when unknown."""
    return "—" if value is None else f"{value * 100:.0f}%"


def num(value: float | None) -> str:
    """A feature value in at most 6 characters."""
    if value is None:
        return "—"
    if value != value:  # NaN
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}"


def block(level: float | None) -> str:
    """One sparkline cell for a level in [0, 1]; a middle dot when there is no data."""
    if level is None:
        return "·"
    i = max(0, min(len(BLOCKS) - 1, round(level * (len(BLOCKS) - 1))))
    return BLOCKS[i] if i else "▁"


def bar(value: float | None, width: int) -> str:
    """A horizontal bar for a value in [0, 1]."""
    if value is None:
        return "·" * width
    filled = max(0, min(width, round(value * width)))
    return "█" * filled + "░" * (width - filled)


def verdict(verdict: str | None) -> Text:
    if verdict is None:
        return Text("unlabelled", style="dim")
    return Text(VERDICT_TEXT.get(verdict, verdict), style=VERDICT_STYLE.get(verdict, ""))
