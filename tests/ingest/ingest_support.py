"""Shared helpers for the ingest tests: read a whole file the way the import service does."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pycountry

from labelbench.ingest.kinds import (
    ColumnMap,
    Kind,
    ParseContext,
    detect_evidence_kind,
    header_hints,
    map_columns,
    parse_chunk,
)
from labelbench.ingest.table import RowError, TableFile

#: Every ISO country, as in a database synced from pycountry.
KNOWN: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
ONGOING_UNTIL = dt.date(2026, 7, 30)


def context(**overrides: Any) -> ParseContext:
    """A context over every ISO country, with open-ended incidents ending 2026-07-30."""
    values: dict[str, Any] = {"known_countries": KNOWN, "ongoing_until": ONGOING_UNTIL}
    values.update(overrides)
    return ParseContext(**values)


@dataclass
class Read:
    """Everything one pass over a file produced."""

    kind: Kind
    columns: list[str]
    header_line: int
    preamble: list[str]
    column_map: ColumnMap
    frame: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    duplicates: int = 0
    empty: int = 0
    chunks: int = 0

    @property
    def lines(self) -> set[int]:
        return {e.line for e in self.errors}

    def described(self) -> list[str]:
        return [e.describe() for e in self.errors]


def read(
    path: Path, kind: Kind, ctx: ParseContext | None = None, *, chunk_rows: int = 50_000
) -> Read:
    """TableFile + map_columns + parse_chunk over the whole file (header errors stop it)."""
    ctx = ctx or context()
    hints = header_hints("evidence") | header_hints("ooni") if kind == "evidence" else None
    with TableFile(path, header_hints=hints or header_hints(kind), chunk_rows=chunk_rows) as table:
        if kind == "evidence":
            kind = detect_evidence_kind(table.columns)
        column_map = map_columns(kind, table.columns, table.header_line, ctx)
        result = Read(
            kind=kind,
            columns=table.columns,
            header_line=table.header_line,
            preamble=table.preamble,
            column_map=column_map,
            frame=pd.DataFrame(),
            errors=list(column_map.errors),
        )
        if column_map.errors:
            return result
        frames = []
        for chunk in table.chunks():
            parsed = parse_chunk(kind, chunk, column_map, ctx)
            result.errors.extend([*chunk.errors, *parsed.errors])
            result.duplicates += parsed.duplicates
            result.empty += parsed.empty
            result.chunks += 1
            frames.append(parsed.frame)
    result.errors.sort(key=lambda e: e.line)
    if frames:
        result.frame = pd.concat(frames, ignore_index=True)
    return result


def write(directory: Path, name: str, content: str | bytes) -> Path:
    """Write a test file exactly as given (bytes) or as UTF-8 with the newlines given (str)."""
    path = directory / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path
