"""The vectorised cell parsers: strict on purpose, missing cells never bad."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from labelbench.errors import InputError
from labelbench.ingest.values import (
    OPEN_END_TOKENS,
    describe_bad_date,
    infer_date_order,
    parse_bools,
    parse_dates,
    parse_floats,
    parse_ints,
    parse_timestamps,
)

D = dt.date


def cells(*values: str | None) -> pd.Series:
    return pd.Series(list(values), dtype=object, index=[10 + i for i in range(len(values))])


@pytest.mark.parametrize(
    "text",
    [
        "2020-01-31",
        "2020/01/31",
        "2020.1.31",
        "2020-01-31T12:00:00Z",
        "2020-01-31 12:00",
        "2020-01-31T05:00:00+05:00",
        "1/31/2020",
        "01/31/2020",
        "1-31-2020",
        "31 January 2020",
        "January 31, 2020",
        "Jan 31 2020",
        "31 Jan 2020",
        "31-Jan-2020",
        "31 jan. 2020",
        "January 31st, 2020",
        "Friday, 31 January 2020",
    ],
)
def test_dates_month_first(text: str) -> None:
    values, bad = parse_dates(cells(text), "mdy")
    assert values.tolist() == [D(2020, 1, 31)] and bad.tolist() == [False]


def test_the_three_formats_of_the_issue_and_sept() -> None:
    values, bad = parse_dates(
        cells("2020-01-31", "1/31/2020", "31 January 2020", "Sept 3 2021"), "mdy"
    )
    assert values.tolist() == [D(2020, 1, 31), D(2020, 1, 31), D(2020, 1, 31), D(2021, 9, 3)]
    assert not bad.any()


def test_day_first_order() -> None:
    values, bad = parse_dates(cells("31/01/2020", "31.01.2020", "02-03-2020", "1/31/2020"), "dmy")
    assert values.tolist() == [D(2020, 1, 31), D(2020, 1, 31), D(2020, 3, 2), None]
    assert bad.tolist() == [False, False, False, True]


def test_datetime_with_offset_takes_the_utc_date() -> None:
    values, _ = parse_dates(cells("2020-01-31T23:30:00-05:00"), "mdy")
    assert values.tolist() == [D(2020, 2, 1)]


@pytest.mark.parametrize(
    "text",
    [
        "2020-02-30",
        "13/13/2020",
        "31/31/2020",
        "2020-13-45",
        "1/31/20",
        "31 Jan 20",
        "2020",
        "March",
        "March 2020",
        "yesterday-ish",
        "2020-01",
        "20200131",
        "0202-01-31",
        "31 Foo 2020",
    ],
)
def test_bad_dates(text: str) -> None:
    values, bad = parse_dates(cells(text), "mdy")
    assert values.tolist() == [None] and bad.tolist() == [True]


def test_missing_dates_are_not_bad_and_the_index_is_kept() -> None:
    values, bad = parse_dates(cells(None, "  ", "2020-01-01"), "mdy")
    assert values.tolist() == [None, None, D(2020, 1, 1)]
    assert bad.tolist() == [False, False, False]
    assert values.index.tolist() == [10, 11, 12]
    assert bad.dtype == np.bool_


def test_bad_date_messages_say_how_to_fix_them() -> None:
    assert describe_bad_date("31/31/2020", "mdy") == "cannot read '31/31/2020' as a date"
    assert describe_bad_date("1/31/20", "mdy") == (
        "cannot read '1/31/20' as a date (use a four-digit year)"
    )
    assert describe_bad_date("31/01/2020", "mdy") == (
        "cannot read '31/01/2020' as a date (month-first order expected; pass --date-order dmy "
        "if this file's dates are day-first)"
    )
    assert "--date-order mdy" in describe_bad_date("01/31/2020", "dmy")
    assert "years 1900-2199" in describe_bad_date("0202-01-31", "mdy")


def test_infer_date_order() -> None:
    assert infer_date_order(["31/01/2020", "01/02/2020", None, "2020-01-01"]) == "dmy"
    assert infer_date_order(["01/31/2020", "01/02/2020"]) == "mdy"
    assert infer_date_order(["01/02/2020", "2020-01-31", "31 January 2020"]) is None
    assert infer_date_order([]) is None
    with pytest.raises(InputError) as caught:
        infer_date_order(["31/01/2020", "01/31/2020"])
    assert str(caught.value) == (
        "dates mix day-first (e.g. '31/01/2020') and month-first (e.g. '01/31/2020') forms; "
        "pass --date-order"
    )


def test_timestamps() -> None:
    values, bad = parse_timestamps(
        cells(
            "2020-01-31T12:00:00Z",
            "2020-01-31T12:00:00",
            "2020-01-31 12:00",
            "2020-01-31T17:30:00+05:30",
            "2020-01-31",
            "2020-01-31T12:00:00.250Z",
            None,
        )
    )
    noon = pd.Timestamp("2020-01-31T12:00:00", tz="UTC")
    assert values.tolist()[:5] == [noon, noon, noon, noon, pd.Timestamp("2020-01-31", tz="UTC")]
    assert values.iloc[5] == noon + pd.Timedelta(milliseconds=250)
    assert values.isna().tolist() == [False] * 6 + [True]
    assert str(values.dt.tz) == "UTC"
    assert not bad.any()
    assert values.index.tolist() == list(range(10, 17))


@pytest.mark.parametrize(
    "text", ["1/31/2020", "2020", "2020-01-31T12", "31 January 2020", "2020-02-30T00:00:00Z", "x"]
)
def test_bad_timestamps(text: str) -> None:
    values, bad = parse_timestamps(cells(text))
    assert values.isna().all() and bad.tolist() == [True]


def test_floats() -> None:
    values, bad = parse_floats(
        cells("1.5", "-2", "1e3", "2.5E-1", ".5", None, "1,234.5", "nan", "inf", "-inf", "abc", "")
    )
    assert values.iloc[:5].tolist() == [1.5, -2.0, 1000.0, 0.25, 0.5]
    assert values.iloc[5:].isna().all()
    assert bad.tolist() == [False] * 6 + [True] * 5 + [False]
    assert values.dtype == np.float64


def test_float_bounds() -> None:
    values, bad = parse_floats(cells("0", "1", "1.01", "-0.1", None), minimum=0, maximum=1)
    assert values.iloc[:2].tolist() == [0.0, 1.0]
    assert bad.tolist() == [False, False, True, True, False]


def test_ints() -> None:
    values, bad = parse_ints(cells("12", "12.0", "12.5", "abc", "-1", None, "0"), minimum=0)
    assert str(values.dtype) == "Int64"
    assert values.tolist() == [12, 12, pd.NA, pd.NA, pd.NA, pd.NA, 0]
    assert bad.tolist() == [False, False, True, True, True, False, False]


def test_bools() -> None:
    values, bad = parse_bools(
        cells(
            "true", "FALSE", "t", "F", "Yes", "no", "y", "N", "1", "0", "1.0", "0.0", None, "maybe"
        )
    )
    assert values.tolist() == [True, False] * 6 + [None, None]
    assert bad.tolist() == [False] * 13 + [True]


def test_open_end_tokens() -> None:
    assert {"ongoing", "present", "-", "–", "—"} <= OPEN_END_TOKENS
    assert all(token == token.strip().lower() for token in OPEN_END_TOKENS)
