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

#: End cells that say the end is not known: never a date, never silently open-ended.
UNKNOWN_END_TOKENS: Final[frozenset[str]] = frozenset(
    {"unknown", "unk", "n/a", "na", "tbd", "?", "not known", "unclear"}
)
#: Room for the region in ``source`` (the incidents table has no region column yet).
_SOURCE_LENGTH: Final[int] = 40

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


def _import_keys(frame: pd.DataFrame, regions: pd.Series) -> list[str]:
    """Hash of (country, start, type, source, link[, region]): what a re-import matches on.

    The region joins the key only when there is one, so files without a region column keep the
    keys they had before regions were read.
    """
    keys = []
    for country, first, kind, source, url, region in zip(
        frame["country"],
        frame["first_seen"],
        frame["incident_type"],
        frame["source"],
        frame["citation_url"],
        regions,
        strict=True,
    ):
        text = f"{country}|{first.isoformat()}|{kind}|{source or ''}|{url or ''}"
        if region:
            text += f"|{region}"
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
    unknown = lowered.isin(UNKNOWN_END_TOKENS).to_numpy(dtype=bool)
    if ctx.unknown_end == "reject":
        rows.flag(
            unknown,
            "last_seen",
            lambda v: f"end '{v}' is not a date (pass --unknown-end single-day or open-ended)",
        )
    elif ctx.unknown_end == "open-ended":
        open_ended = open_ended | unknown
    not_dates = open_ended | unknown
    last = checks.dates(rows, "last_seen", ctx.date_order, checks.none_where(end_cells, not_dates))
    first_values = np.array(first, dtype=object)
    last_values = np.array(last, dtype=object)
    if ctx.unknown_end == "single-day":
        for position in np.flatnonzero(unknown):
            last_values[position] = first_values[position]
    ongoing = ctx.ongoing_until
    for position in np.flatnonzero(open_ended):
        start = first_values[position]
        last_values[position] = max(start, ongoing) if start is not None else ongoing
    for position in np.flatnonzero(~not_dates):
        start, end = first_values[position], last_values[position]
        if start is not None and end is not None and end < start:
            rows.add(
                int(position),
                rows.raw_name("last_seen"),
                f"ends ({end.isoformat()}) before it starts ({start.isoformat()})",
                end_cells.iat[position],
            )
    kind = _incident_types(rows, ctx)
    regions = checks.text(rows, "region").reset_index(drop=True)
    frame = pd.DataFrame(
        {
            "country": country.reset_index(drop=True),
            "first_seen": pd.Series(first_values, dtype=object),
            "last_seen": pd.Series(last_values, dtype=object),
            "incident_type": kind,
            "source": _with_region(checks.text(rows, "source", _SOURCE_LENGTH), regions),
            "citation_url": checks.text(rows, "citation_url").reset_index(drop=True),
            "open_ended": open_ended,
            "import_key": pd.Series([None] * rows.n, dtype=object),
            "line": rows.lines,
        }
    )
    keep = ~rows.bad
    if keep.any():
        frame.loc[keep, "import_key"] = _import_keys(frame[keep], regions[keep])
    return checks.finish(
        rows,
        frame[keep],
        lambda good: checks.dedupe(
            good,
            ["import_key"],
            ["last_seen"],
            lambda line: (
                f"conflicts with line {line}: same country, start, type, source, link and region "
                "but a "
                "different end"
            ),
            rows.raw_name("last_seen"),
        ),
        unknown_ends=int((unknown & ~rows.bad).sum()) if ctx.unknown_end != "reject" else 0,
    )


def _with_region(sources: pd.Series, regions: pd.Series) -> pd.Series:
    """``source / region`` (the incidents table has no region column): shown to analysts and
    kept within the column's 40 characters; the full region is in the incident's key."""
    out = []
    for source, region in zip(sources.reset_index(drop=True), regions, strict=True):
        if not region:
            out.append(source)
            continue
        text = f"{source} / {region}" if source else str(region)
        out.append(text if len(text) <= _SOURCE_LENGTH else text[: _SOURCE_LENGTH - 1] + "…")
    return pd.Series(out, dtype=object)
