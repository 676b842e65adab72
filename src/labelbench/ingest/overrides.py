"""Country overrides: a team's own regime clusters and contagion neighbour sets."""

from __future__ import annotations

import re
from typing import Final

import numpy as np
import pandas as pd

from labelbench.ingest import checks
from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ParseContext, ParseResult
from labelbench.ingest.table import RowError

_CLEAR_CLUSTER: Final[frozenset[str]] = frozenset({"none", "-", "null"})
_CLEAR_NEIGHBOURS: Final[frozenset[str]] = frozenset({"none", "-"})
_LIST_SEPARATORS: Final[re.Pattern[str]] = re.compile(r"[;|,]")
_CODE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z]{2,3}")

COUNTRY_OUTPUT: Final[tuple[str, ...]] = (
    "country",
    "cluster_action",
    "cluster",
    "neighbours",
    "line",
)


def _split_neighbours(text: str) -> list[str]:
    if _LIST_SEPARATORS.search(text):
        tokens = _LIST_SEPARATORS.split(text)
    else:
        words = text.split()
        tokens = words if all(_CODE.fullmatch(w) for w in words) else [text]
    return [t.strip() for t in tokens if t.strip()]


def parse_countries(rows: checks.Rows, ctx: ParseContext, resolver: CountryResolver) -> ParseResult:
    country = checks.country(rows, "country", resolver).reset_index(drop=True)
    cluster_cells = checks.text(rows, "cluster", 60).reset_index(drop=True)
    actions = np.full(rows.n, "keep", dtype=object)
    clusters = np.full(rows.n, None, dtype=object)
    for position, value in enumerate(cluster_cells):
        if value is None:
            continue
        if value.strip().lower() in _CLEAR_CLUSTER:
            actions[position] = "clear"
        else:
            actions[position], clusters[position] = "set", value
    neighbour_cells = rows.cells("neighbours").reset_index(drop=True)
    split: dict[int, list[str]] = {}
    for position, value in enumerate(neighbour_cells):
        if value is not None and value.strip().lower() not in _CLEAR_NEIGHBOURS:
            split[position] = _split_neighbours(value)
    tokens = sorted({t for listed in split.values() for t in listed})
    lookups = {t: resolver.lookup(t, what="neighbour") for t in tokens}
    raw_column = rows.raw_name("neighbours")
    neighbours = np.full(rows.n, None, dtype=object)
    for position, value in enumerate(neighbour_cells):
        if value is None:
            continue
        if position not in split:
            neighbours[position] = []
            continue
        codes: set[str] = set()
        for token in split[position]:
            code, problem = lookups[token]
            if problem is not None:
                rows.add(position, raw_column, problem, token)
            elif code == country.iat[position]:
                rows.add(position, raw_column, f"lists itself as a neighbour ('{token}')", token)
            elif code is not None:
                codes.add(code)
        neighbours[position] = sorted(codes)
    frame = pd.DataFrame(
        {
            "country": country,
            "cluster_action": pd.Series(actions, dtype=object),
            "cluster": pd.Series(clusters, dtype=object),
            "neighbours": pd.Series(neighbours, dtype=object),
            "line": rows.lines,
        }
    )
    column = rows.raw_name("country")
    return checks.finish(rows, frame[~rows.bad], lambda good: _repeated_countries(good, column))


def _repeated_countries(
    frame: pd.DataFrame, column: str | None
) -> tuple[pd.DataFrame, list[RowError], int]:
    """A country listed twice is an error even when identical: which override wins is unclear."""
    repeated = frame.duplicated(subset=["country"], keep="first").to_numpy(dtype=bool)
    if not repeated.any():
        return frame, [], 0
    first_line = frame.groupby("country", sort=False)["line"].transform("first")
    errors = [
        RowError(int(line), column, f"country {code} already appears on line {int(earlier)}", None)
        for line, code, earlier in zip(
            frame["line"][repeated], frame["country"][repeated], first_line[repeated], strict=True
        )
    ]
    return frame[~repeated], errors, 0
