"""Spreadsheet-safe text cells (CSV injection, as OWASP describes it).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and tab and
carriage return can smuggle one in; free text (notes, citation URLs, analyst names) reaches CSV
exports from analysts and imported files. Following OWASP's guidance, such a cell is written with
a leading single quote, which spreadsheets show as text. Plain numbers (``-0.05``) are left
alone so that numeric columns stay numeric. :func:`restore_cell` undoes it on import, so
labelbench's own exports read back unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Final

#: First characters that make a spreadsheet evaluate a cell (OWASP CSV injection).
FORMULA_STARTS: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER: Final[re.Pattern[str]] = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def restore_cell(value: Any) -> Any:
    """Undo :func:`neutralise_cell`: ``'=x`` reads as ``=x``; anything else is unchanged."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'":
        rest = value[1:]
        if rest.startswith(FORMULA_STARTS) and neutralise_cell(rest) == value:
            return rest
    return value


def neutralise_frame(frame: Any) -> Any:
    """A copy of a pandas frame whose text columns are spreadsheet-safe (numbers untouched)."""
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype == object or str(series.dtype) in ("str", "string"):
            out[column] = series.map(neutralise_cell, na_action="ignore").astype(series.dtype)
    return out


def neutralise_csv_text(text: str) -> str:
    """A whole CSV document (as rendered elsewhere) with every formula cell neutralised.

    For writers that hand over finished CSV text (the weekly report): parsed and rewritten with
    the csv module, so quoting stays correct whatever the cells contain.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(io.StringIO(text)):
        writer.writerow([neutralise_cell(cell) for cell in row])
    return out.getvalue()
