"""Label files: analysts' verdicts on country-days, made elsewhere or exported by labelbench.

Each row is one event: country, day, verdict, analyst, and optionally when, a note and a
citation. A file written by ``labelbench export labels`` reads as it is: its ``event`` column
keeps adjudications apart from decisions, and rows that no longer stand there (undone, retracted,
in a reverted batch: ``stands`` false, or ``event`` retraction) are kept out of the log here too,
so the effective labels come out the same. Cells that the export neutralised for spreadsheets
(``'=...``) read back without the quote.
"""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

from labelbench.domain.constants import VERDICTS
from labelbench.domain.spreadsheet import restore_cell
from labelbench.ingest import checks
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ParseContext, ParseResult
from labelbench.ingest.values import parse_bools, parse_timestamps

LABEL_OUTPUT: Final[tuple[str, ...]] = (
    "country", "day", "verdict", "analyst", "created_at", "note", "citation_url", "event",
    "stands", "evidence_fingerprint", "line",
)  # fmt: skip
#: Imported events: a retraction only makes sense against the log it came from.
IMPORTED_EVENTS: Final[tuple[str, ...]] = ("decision", "adjudication")
_VERDICT_WORDS: Final[dict[str, str]] = {
    **{v: v for v in VERDICTS},
    **{word: ("positive" if n == 1 else "negative") for word, n in checks.LABEL_WORDS.items()},
    "skipped": "skip",
    "?": "unsure",
}
#: A hex digest as labelbench writes fingerprints (anything else: the sample's current one).
_FINGERPRINT: Final[re.Pattern[str]] = re.compile(r"[0-9a-f]{16,64}")


def _restored(values: pd.Series) -> pd.Series:
    """Text with spreadsheet quotes undone; ``None`` (never NaN) where empty."""
    return pd.Series(
        [restore_cell(v) if isinstance(v, str) else None for v in values], dtype=object
    )


def _verdicts(rows: checks.Rows) -> pd.Series:
    cells = rows.cells("verdict")
    checks.require(rows, "verdict")
    words = cells.map(lambda v: _VERDICT_WORDS.get(v.strip().lower()) if isinstance(v, str) else v)
    unknown = rows.present("verdict") & words.isna().to_numpy(dtype=bool)
    rows.flag(
        unknown,
        "verdict",
        lambda v: f"unknown verdict '{v}' (use positive, negative, unsure, skip, 1/0 or yes/no)",
    )
    return words.astype(object)


def _events(rows: checks.Rows) -> pd.Series:
    cells = rows.cells("event").map(lambda v: v.strip().lower() if isinstance(v, str) else v)
    known = cells.isin([*IMPORTED_EVENTS, "retraction"]).to_numpy(dtype=bool)
    rows.flag(
        rows.present("event") & ~known,
        "event",
        lambda v: f"unknown event '{v}' (use decision or adjudication)",
    )
    return cells.fillna("decision").astype(object)


def parse_labels(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = checks.country(rows, "country", resolver)
    checks.require(rows, "day")
    day = checks.dates(rows, "day", ctx.date_order)
    verdict = _verdicts(rows)
    checks.require(rows, "analyst")
    analyst = _restored(checks.text(rows, "analyst", 80))
    created_at, bad_time = parse_timestamps(rows.cells("created_at"))
    rows.flag(
        bad_time,
        "created_at",
        lambda v: f"cannot read '{v}' as a timestamp (use ISO 8601, e.g. 2026-06-01T12:00:00Z)",
    )
    stands, bad_flag = parse_bools(rows.cells("stands"))
    rows.flag(bad_flag, "stands", lambda v: f"cannot read '{v}' as true or false")
    fingerprints = rows.cells("evidence_fingerprint").map(
        lambda v: v.strip().lower() if isinstance(v, str) else None
    )
    valid_fp = fingerprints.map(lambda v: isinstance(v, str) and bool(_FINGERPRINT.fullmatch(v)))
    event = _events(rows)
    frame = pd.DataFrame(
        {
            "country": country.reset_index(drop=True),
            "day": pd.Series(np.array(day, dtype=object), dtype=object),
            "verdict": verdict.reset_index(drop=True),
            "analyst": analyst.reset_index(drop=True),
            "created_at": created_at.reset_index(drop=True),
            "note": _restored(checks.text(rows, "note")).reset_index(drop=True),
            "citation_url": _restored(checks.text(rows, "citation_url")).reset_index(drop=True),
            "event": event.reset_index(drop=True),
            # A row stands unless the file says otherwise (an export's undone or reverted rows).
            "stands": (stands.fillna(True).astype(bool) & (event != "retraction"))
            .reset_index(drop=True)
            .astype(bool),
            "evidence_fingerprint": checks.none_where(
                fingerprints, ~valid_fp.to_numpy(dtype=bool)
            ).reset_index(drop=True),
            "line": rows.lines,
        }
    )
    compare = ["verdict", "note", "citation_url", "stands", "evidence_fingerprint"]
    return checks.finish(
        rows,
        frame[~rows.bad],
        lambda good: checks.dedupe(
            good,
            ["country", "day", "analyst", "event", "created_at"],
            compare,
            lambda line: (
                f"conflicts with line {line}: same country, day, analyst, event and time but a "
                "different verdict, note or citation"
            ),
            rows.raw_name("verdict"),
        ),
    )
