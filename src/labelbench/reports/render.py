"""The shared renderer layer: a report is a list of :class:`Section` s, rendered five ways.

Report builders (weekly, batch, and later the retrain report) produce JSON-ready dicts and turn
them into sections; this module owns everything about how sections look in a terminal (Rich), in
Markdown, in one self-contained HTML page (charts as base64 PNGs), as plain text, and how a
report dict becomes strict JSON. Cell formatting helpers live here too, so every report writes
percentages, intervals and missing values the same way.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: Section titles rendered as bullet lists rather than paragraphs.
LIST_SECTIONS = frozenset({"Recommendations", "Definitions"})


@dataclass
class Section:
    """One titled block: a few lines of prose and an optional table (all renderers share it).

    ``**bold**`` in a line is emphasis in every format.
    """

    title: str
    lines: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


# --- cells -------------------------------------------------------------------------------------


def num(x: Any, digits: int = 2) -> str:
    """A count, a float with ``digits`` decimals, yes/no, or ``-`` when missing."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    return f"{x:.{digits}f}"


def pct(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x * 100:.{digits}f}%"


def interval(ci: Any, percent: bool = True) -> str:
    """``[12%, 40%]`` (or ``[0.12, 0.40]``); ``-`` when there is none."""
    if not ci:
        return "-"
    if percent:
        return f"[{pct(ci[0])}, {pct(ci[1])}]"
    return f"[{num(float(ci[0]))}, {num(float(ci[1]))}]"


def pp(x: Any) -> str:
    """A difference of proportions in percentage points."""
    return "-" if x is None else f"{x * 100:+.1f}pp"


def pp_interval(delta: Any, ci: Any) -> str:
    low, high = (ci or [None, None])[:2] if ci else (None, None)
    return f"{pp(delta)} [{pp(low)}, {pp(high)}]"


def listing(items: Sequence[str], most: int = 12) -> str:
    """``A, B, C`` or ``A, B, ... and 40 more``: long lists never take over a report."""
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[:most]) + f" and {len(items) - most} more"


# --- JSON --------------------------------------------------------------------------------------


def iso(x: Any) -> str | None:
    """An ISO 8601 UTC timestamp (naive values are taken as UTC); None for missing values."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    if isinstance(x, dt.datetime):
        stamp = x if x.tzinfo else x.replace(tzinfo=dt.UTC)
        return stamp.astimezone(dt.UTC).isoformat()
    import pandas as pd

    if x is pd.NaT:
        return None
    ts = pd.Timestamp(x)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return str(ts.tz_convert("UTC").isoformat())


def _finite(x: Any, digits: int = 6) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return None if not math.isfinite(f) else round(f, digits)


def jsonable(obj: Any) -> Any:
    """Numpy/pandas scalars to Python, NaN to None: the dict must survive ``json.dumps``."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _finite(obj)
    if isinstance(obj, dt.datetime) or type(obj).__name__ == "Timestamp":
        return iso(obj)
    return obj


def render_json(report: dict[str, Any]) -> str:
    """One JSON object (strict: no NaN)."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"


# --- Markdown ----------------------------------------------------------------------------------


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def sections_markdown(sections: Sequence[Section]) -> str:
    """Markdown for a wiki page: ``#`` title, ``##`` sections, pipe tables."""
    out: list[str] = []
    for i, s in enumerate(sections):
        out += [("# " if i == 0 else "## ") + s.title, ""]
        if s.title in LIST_SECTIONS:
            out += [f"- {line}" for line in s.lines]
        else:
            out += [line + "  " if j < len(s.lines) - 1 else line for j, line in enumerate(s.lines)]
        if s.lines:
            out.append("")
        if s.headers and s.rows:
            out.append("| " + " | ".join(_md_cell(h) for h in s.headers) + " |")
            out.append("|" + "---|" * len(s.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in s.rows]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


# --- terminal ----------------------------------------------------------------------------------


def rich_sections(sections: Sequence[Section]) -> Any:
    """A Rich renderable (Group of titled tables and text) for the terminal."""
    from rich import box
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    for i, s in enumerate(sections):
        parts.append(Text(s.title, style="bold underline" if i == 0 else "bold"))
        bullet = "- " if s.title in LIST_SECTIONS else ""
        for line in s.lines:
            parts.append(Text.from_markup(bullet + escape(line).replace("**", "")))
        if s.headers and s.rows:
            table = Table(*s.headers, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
            for row in s.rows:
                table.add_row(*(escape(c) for c in row))
            parts.append(table)
        parts.append(Text(""))
    return Group(*parts)


def render_text(renderable: Any, width: int = 140) -> str:
    """Plain text of a Rich renderable (for ``--format text --out FILE``)."""
    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(renderable)
    return buf.getvalue()


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;max-width:1200px;color:#222}
h1{font-size:1.5em;margin-bottom:0.3em} h2{font-size:1.15em;margin:1.2em 0 0.3em}
p{margin:0.25em 0} ul{margin:0.3em 0}
table{border-collapse:collapse;margin:0.4em 0 0.8em;font-size:0.92em}
th,td{border:1px solid #ccc;padding:2px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:0.5em 1.5em}
figure{margin:0} img{max-width:100%;display:block} figcaption{font-size:0.85em;color:#555}
"""


def _html_text(line: str) -> str:
    """Bold (double asterisks) and code (backquotes: flags, commands) as HTML."""
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(line))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def sections_html(sections: Sequence[Section], images: Sequence[tuple[str, str]] = ()) -> str:
    """One self-contained page; ``images`` (title, data URI) go in a grid after the first
    section, so the charts sit above the detail tables."""
    title = html.escape(sections[0].title if sections else "report")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{title}</title><style>{_CSS}</style></head><body>",
    ]
    for i, s in enumerate(sections):
        tag = "h1" if i == 0 else "h2"
        out.append(f"<{tag}>{html.escape(s.title)}</{tag}>")
        if s.title in LIST_SECTIONS:
            out.append("<ul>" + "".join(f"<li>{_html_text(x)}</li>" for x in s.lines) + "</ul>")
        else:
            out += [f"<p>{_html_text(x)}</p>" for x in s.lines]
        if s.headers and s.rows:
            out.append(
                "<table><thead><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in s.headers)
                + "</tr></thead><tbody>"
            )
            for row in s.rows:
                out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
            out.append("</tbody></table>")
        if i == 0 and images:
            out.append('<div class="charts">')
            for name, uri in images:
                out.append(
                    f'<figure><img alt="{html.escape(name)}" src="{uri}">'
                    f"<figcaption>{html.escape(name)}</figcaption></figure>"
                )
            out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def png(fig: Any) -> str:
    """A Matplotlib figure as a PNG data URI (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def pyplot() -> Any:
    """Matplotlib's pyplot on the non-interactive backend (imported only when a chart is drawn)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def no_data(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
