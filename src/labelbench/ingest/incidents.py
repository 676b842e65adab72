"""Incident lists: country, start, end, type, source and link."""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np
import pandas as pd

from labelbench.ingest import checks, schema
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ParseContext, ParseResult
from labelbench.ingest.values import OPEN_END_TOKENS

INCIDENT_OUTPUT: Final[tuple[str, ...]] = (
    "country", "first_seen", "last_seen", "incident_type", "source", "citation_url",
    "open_ended", "import_key", "line",
)  # fmt: skip


def _incident_types(rows: checks.Rows, ctx: ParseContext) -> pd.Series:
    table = schema.type_lookup(ctx)
    default = table.get(ctx.default_type.strip().lower()) if ctx.default_type else None
    cells = rows.cells("incident_type")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = np.array(
        [table.get(str(u).strip().lower()) for u in uniques] + [default], dtype=object
    )
    values = mapped[codes]
    present = rows.present("incident_type")
    unknown = present & np.array([v is None for v in values], dtype=np.bool_)
    rows.flag(
        unknown,
        "incident_type",
        lambda v: f"unknown incident type '{v}' (map it with --type-map '{v}=censorship')",
    )
    if default is None:
        missing = ~present
        if rows.has("incident_type"):
            rows.flag(missing, "incident_type", "missing incident type (pass --default-type)")
        elif missing.any():
            rows.flag(missing, None, "missing incident type (pass --default-type)")
    return pd.Series(values, dtype=object)


def _import_keys(frame: pd.DataFrame) -> list[str]:
    keys = []
    for country, first, kind, source, url in zip(
        frame["country"],
        frame["first_seen"],
        frame["incident_type"],
        frame["source"],
        frame["citation_url"],
        strict=True,
    ):
        text = f"{country}|{first.isoformat()}|{kind}|{source or ''}|{url or ''}"
        keys.append(hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    return keys


def parse_incidents(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    if ctx.ongoing_until is None:
        raise ValueError("ParseContext.ongoing_until is required to parse incidents")
    country = checks.country(rows, "country", resolver)
    checks.require(rows, "first_seen")
    first = checks.dates(rows, "first_seen", ctx.date_order)
    end_cells = rows.cells("last_seen")
    lowered = end_cells.map(lambda v: v.strip().lower() if isinstance(v, str) else None)
    open_ended = ~rows.present("last_seen") | lowered.isin(OPEN_END_TOKENS).to_numpy(dtype=bool)
    last = checks.dates(rows, "last_seen", ctx.date_order, checks.none_where(end_cells, open_ended))
    first_values = np.array(first, dtype=object)
    last_values = np.array(last, dtype=object)
    ongoing = ctx.ongoing_until
    for position in np.flatnonzero(open_ended):
        start = first_values[position]
        last_values[position] = max(start, ongoing) if start is not None else ongoing
    for position in np.flatnonzero(~open_ended):
        start, end = first_values[position], last_values[position]
        if start is not None and end is not None and end < start:
            rows.add(
                int(position),
                rows.raw_name("last_seen"),
                f"ends ({end.isoformat()}) before it starts ({start.isoformat()})",
                end_cells.iat[position],
            )
    kind = _incident_types(rows, ctx)
    frame = pd.DataFrame(
        {
            "country": country.reset_index(drop=True),
            "first_seen": pd.Series(first_values, dtype=object),
            "last_seen": pd.Series(last_values, dtype=object),
            "incident_type": kind,
            "source": checks.text(rows, "source", 40).reset_index(drop=True),
            "citation_url": checks.text(rows, "citation_url").reset_index(drop=True),
            "open_ended": open_ended,
            "import_key": pd.Series([None] * rows.n, dtype=object),
            "line": rows.lines,
        }
    )
    keep = ~rows.bad
    if keep.any():
        frame.loc[keep, "import_key"] = _import_keys(frame[keep])
    return checks.finish(
        rows,
        frame[keep],
        lambda good: checks.dedupe(
            good,
            ["import_key"],
            ["last_seen"],
            lambda line: (
                f"conflicts with line {line}: same country, start, type, source and link but a "
                "different end"
            ),
            rows.raw_name("last_seen"),
        ),
    )
