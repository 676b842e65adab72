"""Row-validation machinery shared by every kind: raw cells by field, problems, the bad-row mask.

A kind's parser asks :class:`Rows` for a field's cells, checks them with the helpers here (which
flag every bad cell with a message a user can act on) and hands its good rows to :func:`finish`.
Cell-level parsing (dates, numbers, booleans) lives in :mod:`labelbench.ingest.values`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.ingest.countries import CountryResolver
from labelbench.ingest.schema import ColumnMap, ParseResult
from labelbench.ingest.table import RawChunk, RowError
from labelbench.ingest.values import (
    FLOAT_PATTERN,
    DateOrder,
    describe_bad_date,
    parse_dates,
    parse_floats,
)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
Message = str | Callable[[str], str]

#: An AS number with or without its "AS" prefix (Arrow regex: no \s, no \d, no flags).
_ASN: Final[str] = r"^(?:[Aa][Ss])? ?([0-9]{1,10})$"

#: Accepted spellings of a binary label (samples' label column, imported verdicts).
LABEL_WORDS: Final[dict[str, int]] = {
    **dict.fromkeys(("1", "1.0", "true", "t", "yes", "y", "positive", "pos"), 1),
    **dict.fromkeys(("0", "0.0", "false", "f", "no", "n", "negative", "neg"), 0),
}


class Rows:
    """One chunk under validation: raw cells by field, the problems found, the bad-row mask."""

    def __init__(self, chunk: RawChunk, columns: ColumnMap) -> None:
        self.frame = chunk.frame.reset_index(drop=True)
        self.lines = np.asarray(chunk.lines, dtype=np.int64)
        self.n = len(self.frame)
        self.columns = columns.columns
        self.bad = np.zeros(self.n, dtype=np.bool_)
        self._found: list[tuple[int, int, RowError]] = []
        self._present: dict[str, BoolArray] = {}

    def has(self, name: str) -> bool:
        return name in self.columns

    def raw_name(self, name: str) -> str | None:
        return self.columns.get(name)

    def cells(self, name: str) -> pd.Series:
        """The field's raw cells (all None when the file has no such column)."""
        raw = self.columns.get(name)
        if raw is None:
            return pd.Series(np.full(self.n, None, dtype=object), dtype=object)
        return self.frame[raw]

    def present(self, name: str) -> BoolArray:
        """Which rows have a value for the field (cached: scanning for NA is not free)."""
        found = self._present.get(name)
        if found is None:
            found = present(self.cells(name))
            self._present[name] = found
        return found

    def flag(self, mask: BoolArray, name: str | None, message: Message) -> None:
        """Record a problem for every row in ``mask`` (the message may depend on the cell)."""
        positions = np.flatnonzero(mask)
        if not len(positions):
            return
        column = self.columns.get(name) if name is not None else None
        cells = self.frame[column].to_numpy() if column is not None else None
        for position in positions:
            value = cells[position] if cells is not None else None
            text = message if isinstance(message, str) else message(str(value))
            self.add(int(position), column, text, value)

    def add(self, position: int, column: str | None, message: str, value: str | None) -> None:
        self.bad[position] = True
        error = RowError(int(self.lines[position]), column, message, value)
        self._found.append((position, len(self._found), error))

    def errors(self) -> list[RowError]:
        return [error for _, _, error in sorted(self._found, key=lambda item: item[:2])]


def present(cells: pd.Series) -> BoolArray:
    present: BoolArray = cells.notna().to_numpy(dtype=bool)
    return present


def require(rows: Rows, name: str) -> None:
    rows.flag(rows.has(name) & ~rows.present(name), name, "missing value (this column is required)")


def text(rows: Rows, name: str, max_length: int | None = None) -> pd.Series:
    """Optional text (None where empty); longer than ``max_length`` is a problem."""
    cells = rows.cells(name)
    if max_length is not None and rows.has(name) and rows.present(name).any():
        lengths = pd.Series(cells, dtype="str").str.len().to_numpy(dtype=float, na_value=0.0)
        rows.flag(
            lengths > max_length,
            name,
            lambda v: f"longer than {max_length} characters ({len(v)} characters)",
        )
    return cells.astype(object)


def _number_problem(
    value: str, minimum: float | None, maximum: float | None, integral: bool
) -> str:
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or not re.fullmatch(FLOAT_PATTERN, text):
        if "," in text and re.fullmatch(r"[+-]?[\d,]*\.?\d*", text):
            return (
                f"cannot read '{value}' as a number (write it without thousands separators "
                "and with '.' for decimals)"
            )
        if number is not None:
            return f"'{value}' is not a finite number"
        return f"cannot read '{value}' as a number"
    if not np.isfinite(number):
        return f"'{value}' is too large"
    if integral and number != np.floor(number):
        return f"'{value}' is not a whole number"
    low = _fmt(minimum) if minimum is not None else None
    high = _fmt(maximum) if maximum is not None else None
    if low is not None and high is not None:
        return f"{value} is outside the range {low} to {high}"
    if minimum == 0:
        return f"{value} is negative (must be 0 or more)"
    if low is not None:
        return f"{value} is less than {low}"
    return f"{value} is more than {high}"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def number(
    rows: Rows,
    name: str,
    *,
    required: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    integral: bool = False,
) -> FloatArray:
    """float64 values (NaN where missing or bad), flagging every bad cell with the reason."""
    cells = rows.cells(name)
    if required:
        require(rows, name)
    values, bad = parse_floats(cells, minimum=minimum, maximum=maximum)
    array: FloatArray = values.to_numpy(dtype=np.float64, copy=True)
    if integral:
        fractional = ~np.isnan(array) & (np.floor(array) != array)
        bad = bad | fractional
        array[fractional] = np.nan
    rows.flag(bad, name, lambda v: _number_problem(v, minimum, maximum, integral))
    return array


def country(rows: Rows, name: str, resolver: CountryResolver) -> pd.Series:
    cells = rows.cells(name)
    require(rows, name)
    codes, bad, messages = resolver.resolve(cells)
    rows.flag(bad, name, lambda v: messages.get(v, f"unknown country '{v}'"))
    return codes


def dates(rows: Rows, name: str, order: DateOrder, cells: pd.Series | None = None) -> pd.Series:
    cells = rows.cells(name) if cells is None else cells
    values, bad = parse_dates(cells, order)
    rows.flag(bad, name, lambda v: describe_bad_date(v, order))
    return values


def asn(rows: Rows, name: str) -> pd.Series:
    """ "AS1234" for "1234", "as1234" or "AS 1234"; None where empty."""
    cells = rows.cells(name)
    codes, uniques = pd.factorize(cells.to_numpy(dtype=object))
    digits = pd.Series(uniques, dtype="str").str.extract(_ASN, expand=False)
    normalised = np.empty(len(uniques) + 1, dtype=object)  # last slot: code -1 (missing)
    normalised[:-1] = ("AS" + digits.str.lstrip("0").replace("", "0")).to_numpy(
        dtype=object, na_value=None
    )
    failed = np.append(digits.isna().to_numpy(dtype=bool), False)
    rows.flag(
        failed[codes],
        name,
        lambda v: f"cannot read '{v}' as an AS number (write e.g. AS12345 or 12345)",
    )
    return pd.Series(normalised[codes], dtype=object)


def none_where(values: pd.Series, mask: BoolArray) -> pd.Series:
    out = values.astype(object).copy()
    out[mask] = None
    return out


def dedupe(
    frame: pd.DataFrame,
    keys: list[str],
    compare: list[str],
    on_conflict: Callable[[int], str],
    column: str | None,
) -> tuple[pd.DataFrame, list[RowError], int]:
    """Drop exact repeats of a key (first kept); a repeat with other values is an error."""
    repeated = frame.duplicated(subset=keys, keep="first").to_numpy(dtype=bool)
    if not repeated.any():
        return frame, [], 0
    order = pd.Series(np.arange(len(frame)), index=frame.index)
    first = order.groupby([frame[k] for k in keys], sort=False, dropna=False).transform("first")
    first_pos = first.to_numpy(dtype=np.int64)
    values = frame[compare].astype(object).to_numpy()
    lines = frame["line"].to_numpy(dtype=np.int64)
    errors: list[RowError] = []
    duplicates = 0
    for position in np.flatnonzero(repeated):
        original = first_pos[position]
        if all(_same(a, b) for a, b in zip(values[position], values[original], strict=True)):
            duplicates += 1
        else:
            errors.append(
                RowError(int(lines[position]), column, on_conflict(int(lines[original])), None)
            )
    return frame[~repeated], errors, duplicates


def _same(a: object, b: object) -> bool:
    missing_a = a is None or (isinstance(a, float) and np.isnan(a)) or a is pd.NA or a is pd.NaT
    missing_b = b is None or (isinstance(b, float) and np.isnan(b)) or b is pd.NA or b is pd.NaT
    if missing_a or missing_b:
        return missing_a and missing_b
    return bool(a == b)


Deduper = Callable[[pd.DataFrame], tuple[pd.DataFrame, list[RowError], int]]


def finish(
    rows: Rows, good: pd.DataFrame, dedupe: Deduper, empty: int = 0, unknown_ends: int = 0
) -> ParseResult:
    """Dedupe the good rows and merge every error in line order."""
    good, conflicts, duplicates = dedupe(good)
    errors = sorted([*rows.errors(), *conflicts], key=lambda e: e.line)
    return ParseResult(
        frame=good.reset_index(drop=True),
        errors=errors,
        duplicates=duplicates,
        empty=empty,
        unknown_ends=unknown_ends,
    )
