"""Vectorised parsers for text cells: dates, timestamps, numbers and booleans.

Every parser takes a Series of ``str | None`` and returns the parsed values plus a boolean *bad*
mask aligned to the input. Missing cells (None) are never bad here: whether a value is required is
the caller's decision. Parsers are strict on purpose: a cell that could mean two things (``1,234``,
``3/4/20``, ``March``) is rejected rather than guessed, because a silently wrong date or number
corrupts labels without anyone noticing.

Dates and booleans are parsed once per *unique* value (files repeat the same few hundred days a
million times); timestamps and numbers go through regex validation and one vectorised conversion.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelbench.errors import InputError

BoolArray = npt.NDArray[np.bool_]
DateOrder = Literal["mdy", "dmy"]

#: End-date cells meaning "still going" (compared case-insensitively after strip).
OPEN_END_TOKENS: Final[frozenset[str]] = frozenset(
    {"ongoing", "present", "now", "current", "continuing", "open", "-", "–", "—"}
)
#: Plausible years: a typo such as ``0202`` must not become a date two millennia ago.
MIN_YEAR: Final[int] = 1900
MAX_YEAR: Final[int] = 2199

_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

#: Patterns matched by Arrow (RE2) spell digits [0-9] and spaces " ": pandas falls back to slow
#: Python regexes for \d on non-ASCII data and for \s, and Unicode digits are not wanted anyway.
_ISO_DATE: Final[str] = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
#: Year first, any one of - / . as separator: 2020-01-31, 2020/1/31, 2020.01.31.
_YEAR_FIRST: Final[re.Pattern[str]] = re.compile(
    r"(?P<y>[0-9]{4})([-/.])(?P<m>[0-9]{1,2})\2(?P<d>[0-9]{1,2})"
)
#: Day and month first (order decided by the caller), four-digit year last: 1/31/2020, 31.01.2020.
_YEAR_LAST: Final[re.Pattern[str]] = re.compile(
    r"(?P<a>[0-9]{1,2})([-/.])(?P<b>[0-9]{1,2})\2(?P<y>[0-9]{4})"
)
#: The same with a two-digit year, recognised only to explain the rejection.
_SHORT_YEAR: Final[re.Pattern[str]] = re.compile(r"[0-9]{1,2}([-/.])[0-9]{1,2}\1[0-9]{2}")
_DAY: Final[str] = r"(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?"
_MONTH: Final[str] = r"(?P<m>[a-z]{3,9})\.?"
_YEAR: Final[str] = r"(?P<y>[0-9]{4})"
#: 31 January 2020, 31 Jan 2020, 31-Jan-2020, 31 Jan, 2020.
_DAY_MONTH_NAME: Final[re.Pattern[str]] = re.compile(
    rf"{_DAY}[\s\-/]*{_MONTH}(?:\s*,\s*|[\s\-/]+){_YEAR}", re.IGNORECASE
)
#: January 31, 2020, Jan 31 2020, Sept 3 2021, Jan-31-2020.
_MONTH_NAME_DAY: Final[re.Pattern[str]] = re.compile(
    rf"{_MONTH}[\s\-/]+{_DAY}(?:\s*,\s*|[\s\-/]+){_YEAR}", re.IGNORECASE
)
_TIME: Final[str] = (
    r"[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?: ?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?))?"
)
#: ISO 8601 date, optionally with a time and a zone: what parse_timestamps accepts.
_TIMESTAMP: Final[str] = rf"{_ISO_DATE}(?:{_TIME})?"
_DATETIME: Final[re.Pattern[str]] = re.compile(rf"{_ISO_DATE}{_TIME}")
_FOUR_DIGITS: Final[re.Pattern[str]] = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
#: Plain decimal or scientific notation (no thousands separators, no nan/inf).
FLOAT_PATTERN: Final[str] = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
#: Integers above this lose precision as floats; no count in these files comes near it.
_MAX_EXACT_INT: Final[float] = float(2**53)

_TRUE: Final[frozenset[str]] = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE: Final[frozenset[str]] = frozenset({"false", "f", "no", "n", "0", "0.0"})


def _objects(cells: pd.Series | Iterable[str | None]) -> npt.NDArray[np.object_]:
    """Cells as an object array (missing may be None or NaN: both count as missing below)."""
    if isinstance(cells, pd.Series):
        if cells.dtype == object:
            return cells.to_numpy()  # no copy, no NA scan: the common case
        return cells.to_numpy(dtype=object, na_value=None)
    return np.array(list(cells), dtype=object)


def _factorize(cells: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Codes (-1 for missing) and the unique non-missing values, as stripped text."""
    codes, uniques = pd.factorize(_objects(cells))
    texts = np.array([str(u).strip() for u in uniques], dtype=object)
    codes = np.asarray(codes, dtype=np.intp)
    blank = np.flatnonzero(texts == "")
    if len(blank):
        codes[np.isin(codes, blank)] = -1  # whitespace-only cells are missing, not bad
    return codes, texts


def _text_series(cells: pd.Series) -> pd.Series:
    """Arrow-backed strings (fast vectorised regex), stripped, missing as NA."""
    return pd.Series(_objects(cells), dtype="str").str.strip()


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------


def _from_parts(years: pd.Series, months: pd.Series, days: pd.Series) -> npt.NDArray[np.datetime64]:
    """datetime64[D] from component columns; impossible dates (Feb 30) and odd years are NaT."""
    y = pd.to_numeric(years, errors="coerce")
    m = pd.to_numeric(months, errors="coerce")
    d = pd.to_numeric(days, errors="coerce")
    plausible = y.between(MIN_YEAR, MAX_YEAR) & m.between(1, 12) & d.between(1, 31)
    parts = pd.DataFrame({"year": y.where(plausible), "month": m.where(plausible)})
    parts["day"] = d.where(plausible)
    stamps = pd.to_datetime(parts, errors="coerce")
    result: npt.NDArray[np.datetime64] = stamps.to_numpy().astype("datetime64[D]")
    return result


def _dateutil_date(text: str, dayfirst: bool) -> np.datetime64:
    """Last resort for forms the fast paths miss, refusing any defaulted year, month or day."""
    from dateutil import parser

    years = _FOUR_DIGITS.findall(text)
    if not years:
        return np.datetime64("NaT")
    parsed = []
    for default in (dt.datetime(1904, 1, 1), dt.datetime(1905, 2, 2)):
        try:
            parsed.append(parser.parse(text, dayfirst=dayfirst, default=default))
        except (ValueError, OverflowError):
            return np.datetime64("NaT")
    first, second = parsed
    if first.date() != second.date():
        return np.datetime64("NaT")  # the text lacked a year, month or day
    if first.tzinfo is not None:
        first = first.astimezone(dt.UTC)
    if f"{first.year:04d}" not in years or not MIN_YEAR <= first.year <= MAX_YEAR:
        return np.datetime64("NaT")  # e.g. a two-digit year next to an unrelated number
    return np.datetime64(first.date(), "D")


def _parse_date_texts(
    texts: npt.NDArray[np.object_], order: DateOrder
) -> npt.NDArray[np.datetime64]:
    """datetime64[D] (NaT when unreadable) for unique, stripped, non-empty date texts."""
    result = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[D]")
    if len(texts) == 0:
        return result
    text = pd.Series(texts, dtype="str")
    todo = np.ones(len(texts), dtype=np.bool_)

    iso = text.str.fullmatch(_ISO_DATE).to_numpy(dtype=bool)
    if iso.any():
        stamps = pd.to_datetime(text[iso], format="%Y-%m-%d", errors="coerce")
        days = stamps.to_numpy().astype("datetime64[D]")
        years = stamps.dt.year.to_numpy(dtype=float, na_value=np.nan)
        days[~((years >= MIN_YEAR) & (years <= MAX_YEAR))] = np.datetime64("NaT")
        result[iso] = days
        todo &= ~iso

    def parts(pattern: re.Pattern[str], year: str, month: str, day: str) -> None:
        found = text[todo].str.extract(f"^(?:{pattern.pattern})$", flags=pattern.flags)
        hit = found[year].notna().to_numpy(dtype=bool)
        if not hit.any():
            return
        rows = found[hit]
        months = rows[month].str.lower()
        if not months.str.isdigit().all():
            months = months.map(_MONTHS)
        positions = np.flatnonzero(todo)[hit]
        result[positions] = _from_parts(rows[year], months, rows[day])
        todo[positions] = False

    parts(_YEAR_FIRST, "y", "m", "d")
    if order == "mdy":
        parts(_YEAR_LAST, "y", "a", "b")
    else:
        parts(_YEAR_LAST, "y", "b", "a")
    parts(_DAY_MONTH_NAME, "y", "m", "d")
    parts(_MONTH_NAME_DAY, "y", "m", "d")

    datetimes = todo & text.str.fullmatch(_DATETIME.pattern).to_numpy(dtype=bool)
    if datetimes.any():
        stamps, _ = parse_timestamps(text[datetimes])
        result[datetimes] = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[D]")
        todo &= ~datetimes

    for position in np.flatnonzero(todo):
        result[position] = _dateutil_date(str(texts[position]), dayfirst=order == "dmy")
    return result


def _map_unique(
    cells: pd.Series, parse: Callable[[npt.NDArray[np.object_]], npt.NDArray[np.generic]]
) -> tuple[npt.NDArray[np.generic], BoolArray]:
    """Parse each unique value once; (value per row, missing mask). Missing rows hold junk."""
    codes, texts = _factorize(cells)
    parsed = parse(texts)
    missing = codes < 0
    if len(parsed) == 0:
        return np.empty(len(codes), dtype=parsed.dtype), missing
    return parsed[np.where(missing, 0, codes)], missing


def parse_dates(cells: pd.Series, order: DateOrder) -> tuple[pd.Series, BoolArray]:
    """``datetime.date`` values (None where missing or bad) and the bad mask.

    Accepts ISO dates, year-first slashed/dotted dates, ISO date-times (their UTC date), numeric
    day/month dates with a four-digit year read in ``order``, and dates with English month names.
    A date needs a year, a month and a day: "2020" or "March" alone is bad, and so are two-digit
    years and impossible dates such as 2020-02-30.
    """
    values, missing = _map_unique(cells, lambda texts: _parse_date_texts(texts, order))
    days = np.asarray(values, dtype="datetime64[D]")
    days[missing] = np.datetime64("NaT")
    bad = ~missing & np.isnat(days)
    return pd.Series(days.astype(object), index=cells.index, dtype=object), bad


def describe_bad_date(value: str, order: DateOrder) -> str:
    """Why ``value`` is not a date, with the fix when one is obvious."""
    text = value.strip()
    if _SHORT_YEAR.fullmatch(text):
        return f"cannot read '{value}' as a date (use a four-digit year)"
    other: DateOrder = "dmy" if order == "mdy" else "mdy"
    if _YEAR_LAST.fullmatch(text) and not np.isnat(_parse_date_texts(np.array([text]), other)[0]):
        first = "month" if order == "mdy" else "day"
        return (
            f"cannot read '{value}' as a date ({first}-first order expected; "
            f"pass --date-order {other} if this file's dates are "
            f"{'day' if other == 'dmy' else 'month'}-first)"
        )
    for match in _FOUR_DIGITS.finditer(text):
        if not MIN_YEAR <= int(match.group()) <= MAX_YEAR:
            return f"cannot read '{value}' as a date (years {MIN_YEAR}-{MAX_YEAR} only)"
    return f"cannot read '{value}' as a date"


def infer_date_order(cells: Iterable[str | None]) -> DateOrder | None:
    """The day/month order the numeric dates of a column reveal, None when none is unambiguous.

    Raises :class:`InputError` when the column holds both a day-first and a month-first date.
    """
    day_first: str | None = None
    month_first: str | None = None
    for cell in set(cells):
        if cell is None or not isinstance(cell, str):
            continue
        match = _YEAR_LAST.fullmatch(cell.strip())
        if match is None:
            continue
        a, b = int(match.group("a")), int(match.group("b"))
        if a > 12 and b <= 12 and (day_first is None or cell < day_first):
            day_first = cell.strip()
        elif b > 12 and a <= 12 and (month_first is None or cell < month_first):
            month_first = cell.strip()
    if day_first is not None and month_first is not None:
        raise InputError(
            f"dates mix day-first (e.g. '{day_first}') and month-first (e.g. '{month_first}') "
            "forms; pass --date-order"
        )
    if day_first is not None:
        return "dmy"
    if month_first is not None:
        return "mdy"
    return None


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------


def parse_timestamps(cells: pd.Series) -> tuple[pd.Series, BoolArray]:
    """Timezone-aware UTC timestamps (NaT where missing or bad) and the bad mask.

    Accepts ISO 8601 with a zone (converted to UTC) or without (taken as UTC), date-only (midnight
    UTC) and ``YYYY-MM-DD HH:MM[:SS]``. Everything else is bad.
    """
    text = _text_series(cells)
    present = text.notna().to_numpy(dtype=bool) & (text != "").to_numpy(dtype=bool)
    shaped = text.str.fullmatch(_TIMESTAMP).to_numpy(dtype=bool) & present
    stamps = pd.to_datetime(text[shaped], format="ISO8601", utc=True, errors="coerce")
    stamps = stamps.dt.as_unit("us")
    years = stamps.dt.year
    stamps = stamps.where((years >= MIN_YEAR) & (years <= MAX_YEAR))
    result = stamps.reindex(text.index).set_axis(cells.index)
    bad = present & result.isna().to_numpy(dtype=bool)
    return result, bad


# ---------------------------------------------------------------------------------------------
# Numbers and booleans
# ---------------------------------------------------------------------------------------------


def parse_floats(
    cells: pd.Series, *, minimum: float | None = None, maximum: float | None = None
) -> tuple[pd.Series, BoolArray]:
    """float64 values (NaN where missing or bad) and the bad mask.

    Plain decimals and scientific notation only: thousands separators (``1,234``) are ambiguous
    and rejected, and so are ``nan`` and infinities. Values outside [minimum, maximum] are bad.
    """
    text = _text_series(cells)
    present = text.notna().to_numpy(dtype=bool) & (text != "").to_numpy(dtype=bool)
    shaped = text.str.fullmatch(FLOAT_PATTERN).to_numpy(dtype=bool) & present
    values = np.full(len(text), np.nan)
    if shaped.any():
        with np.errstate(over="ignore"):
            values[shaped] = text[shaped].astype("float64").to_numpy()
    ok = np.isfinite(values)
    if minimum is not None:
        ok &= values >= minimum
    if maximum is not None:
        ok &= values <= maximum
    values[~ok] = np.nan
    return pd.Series(values, index=cells.index, dtype="float64"), present & ~ok


def parse_ints(cells: pd.Series, *, minimum: int | None = None) -> tuple[pd.Series, BoolArray]:
    """Int64 values (<NA> where missing or bad) and the bad mask; "12.0" reads as 12."""
    floats, bad = parse_floats(cells, minimum=minimum)
    values = floats.to_numpy()
    integral = (
        np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < _MAX_EXACT_INT)
    )
    bad = bad | (~np.isnan(values) & ~integral)
    ints = np.where(integral, values, 0).astype(np.int64)
    array = pd.arrays.IntegerArray(ints, ~integral)
    return pd.Series(array, index=cells.index), bad


def _bool_texts(texts: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    out = np.empty(len(texts), dtype=object)
    for i, text in enumerate(texts):
        key = str(text).lower()
        out[i] = True if key in _TRUE else False if key in _FALSE else None
    return out


def parse_bools(cells: pd.Series) -> tuple[pd.Series, BoolArray]:
    """Object Series of True/False/None and the bad mask.

    Accepts true/false, t/f, yes/no, y/n, 1/0 and 1.0/0.0, in any case.
    """
    parsed, missing = _map_unique(cells, _bool_texts)
    values: npt.NDArray[np.object_] = np.asarray(parsed, dtype=object)
    values[missing] = None
    bad = ~missing & np.array([v is None for v in values], dtype=np.bool_)
    return pd.Series(values, index=cells.index, dtype=object), bad
