"""Precomputed feature tables: country, day, the 16 features and an optional label."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from labelbench.domain.constants import FEATURES
from labelbench.ingest import checks
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ParseContext, ParseResult

SAMPLE_OUTPUT: Final[tuple[str, ...]] = (
    "country", "day", *FEATURES, "given_label", "evidence_count", "line",
)  # fmt: skip


_FEATURE_RANGES: Final[dict[str, tuple[float | None, float | None, bool]]] = {
    "anomaly_rate": (0, 1, False),
    "measurement_count": (0, None, False),
    "day_of_week": (0, 6, True),
    "month": (1, 12, True),
    "is_weekend": (0, 1, True),
    "high_evidence": (0, 1, True),
    "probe_node_count": (0, None, False),
    "neighbor_incident_count_7d": (0, None, False),
}


def _labels(rows: checks.Rows) -> pd.Series:
    cells = rows.cells("label")
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object, na_value=None))
    mapped = [checks.LABEL_WORDS.get(str(u).strip().lower()) for u in uniques]
    failed = np.array([m is None for m in mapped] + [False], dtype=np.bool_)
    rows.flag(
        failed[codes],
        "label",
        lambda v: (
            f"cannot read '{v}' as a label (use 1/0, yes/no, true/false or positive/negative)"
        ),
    )
    values = np.array([-1 if m is None else m for m in mapped] + [-1], dtype=np.int64)[codes]
    return pd.Series(pd.arrays.IntegerArray(np.maximum(values, 0), values < 0))


def parse_samples(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = checks.country(rows, "country", resolver)
    checks.require(rows, "day")
    day = checks.dates(rows, "day", ctx.date_order)
    columns: dict[str, object] = {"country": country.reset_index(drop=True), "day": day}
    for name in FEATURES:
        low, high, whole = _FEATURE_RANGES.get(name, (None, None, False))
        columns[name] = checks.number(
            rows, name, required=True, minimum=low, maximum=high, integral=whole
        )
    columns["given_label"] = _labels(rows)
    counts = checks.number(rows, "evidence_count", minimum=0, integral=True)
    columns["evidence_count"] = np.nan_to_num(counts, nan=0.0).astype(np.int64)
    columns["line"] = rows.lines
    frame = pd.DataFrame(columns)
    frame["day"] = frame["day"].astype(object)
    compare = [c for c in SAMPLE_OUTPUT if c not in ("country", "day", "line")]
    return checks.finish(
        rows,
        frame[~rows.bad],
        lambda good: checks.dedupe(
            good,
            ["country", "day"],
            compare,
            lambda line: f"conflicts with line {line}: same country and day but different values",
            None,
        ),
    )
