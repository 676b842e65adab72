"""Turning raw chunks of any importable kind into typed frames: the one entry point.

:func:`parse_chunk` validates a :class:`~labelbench.ingest.table.RawChunk` column by column,
vectorised, collecting *every* problem of every row (a user fixing a file wants the whole list,
not one error per run), and returns only the rows without problems, typed and deduplicated
within the chunk. The header is mapped by :mod:`~labelbench.ingest.schema`; each kind has its own
module (:mod:`.evidence`, :mod:`.ooni`, :mod:`.incidents`, :mod:`.samples`, :mod:`.overrides`,
:mod:`.labels`) built on the row checks of :mod:`.checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from labelbench.ingest import checks
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.evidence import EVIDENCE_OUTPUT, parse_evidence
from labelbench.ingest.incidents import INCIDENT_OUTPUT, parse_incidents
from labelbench.ingest.labels import LABEL_OUTPUT, parse_labels
from labelbench.ingest.ooni import parse_ooni
from labelbench.ingest.overrides import COUNTRY_OUTPUT, parse_countries
from labelbench.ingest.samples import SAMPLE_OUTPUT, parse_samples
from labelbench.ingest.schema import (
    ColumnMap,
    Kind,
    ParseContext,
    ParseResult,
    detect_evidence_kind,
    header_hints,
    map_columns,
)
from labelbench.ingest.table import RawChunk

_PARSERS: Final[dict[Kind, Callable[[checks.Rows, ParseContext, CountryResolver], ParseResult]]] = {
    "evidence": parse_evidence,
    "ooni": parse_ooni,
    "incidents": parse_incidents,
    "samples": parse_samples,
    "countries": parse_countries,
    "labels": parse_labels,
}
_OUTPUTS: Final[dict[Kind, tuple[str, ...]]] = {
    "evidence": EVIDENCE_OUTPUT,
    "ooni": EVIDENCE_OUTPUT,
    "incidents": INCIDENT_OUTPUT,
    "samples": SAMPLE_OUTPUT,
    "countries": COUNTRY_OUTPUT,
    "labels": LABEL_OUTPUT,
}


def parse_chunk(kind: Kind, chunk: RawChunk, columns: ColumnMap, ctx: ParseContext) -> ParseResult:
    """Validate and type one chunk: good rows in ``frame``, every problem of the others in errors.

    ``columns`` must come from :func:`map_columns` for the same ``kind`` and have no errors.
    """
    if columns.kind != kind:
        raise ValueError(f"column map is for {columns.kind}, not {kind}")
    resolver = CountryResolver(ctx.known_countries, ctx.country_map)
    result = _PARSERS[kind](checks.Rows(chunk, columns), ctx, resolver)
    frame = result.frame[list(_OUTPUTS[kind])]
    frame["line"] = frame["line"].astype(np.int64)
    return ParseResult(
        frame=frame,
        errors=result.errors,
        duplicates=result.duplicates,
        empty=result.empty,
        unknown_ends=result.unknown_ends,
    )


__all__ = [
    "COUNTRY_OUTPUT",
    "EVIDENCE_OUTPUT",
    "INCIDENT_OUTPUT",
    "LABEL_OUTPUT",
    "SAMPLE_OUTPUT",
    "ColumnMap",
    "Kind",
    "ParseContext",
    "ParseResult",
    "detect_evidence_kind",
    "header_hints",
    "map_columns",
    "parse_chunk",
]
