"""The weekly report from plain frames: ISO weeks, boundaries, empty weeks, renderers, HTML."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from html.parser import HTMLParser
from typing import Any

import pandas as pd
import pytest

from labelbench.errors import InputError
from labelbench.reports.isoweek import IsoWeek
from labelbench.reports.metrics import LABEL_COLUMNS, RunInfo, WeeklyData, empty_labels
from labelbench.reports.weekly import WeeklyOptions, build_weekly_report
from labelbench.reports.weekly_render import TOP_N, charts, render

UTC = dt.UTC
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- ISO weeks ---------------------------------------------------------------------------------


def test_week_53_years() -> None:
    assert IsoWeek.weeks_in_year(2026) == 53 and IsoWeek.weeks_in_year(2020) == 53
    assert IsoWeek.weeks_in_year(2021) == 52 and IsoWeek.weeks_in_year(2025) == 52
    w = IsoWeek.parse("2026-W53")
    assert w.start == dt.datetime(2026, 12, 28, tzinfo=UTC)
    assert w.end == dt.datetime(2027, 1, 4, tzinfo=UTC)
    assert str(w.shifted(1)) == "2027-W01" and str(w.shifted(-1)) == "2026-W52"


def test_week_spanning_a_year_boundary() -> None:
    w = IsoWeek.parse("2020-W53")
    assert (w.start.date(), w.end.date()) == (dt.date(2020, 12, 28), dt.date(2021, 1, 4))
    assert IsoWeek.of(dt.date(2021, 1, 3)) == w  # a 2021 date in a 2020 week
    assert IsoWeek.of(dt.date(2021, 1, 4)) == IsoWeek(2021, 1)
    assert IsoWeek.of(dt.date(2024, 12, 30)) == IsoWeek(2025, 1)  # a 2024 date in 2025-W01
    assert IsoWeek.parse("2021W01") == IsoWeek.parse("2021-w1") == IsoWeek(2021, 1)


@pytest.mark.parametrize(
    "text", ["2021-W53", "2026-W54", "2026-W00", "2026-47", "W47", "", "2026-W4x", "26-W47"]
)
def test_bad_weeks_are_input_errors(text: str) -> None:
    with pytest.raises(InputError, match="bad week"):
        IsoWeek.parse(text)


def test_default_week_is_last_complete_week_in_utc() -> None:
    assert IsoWeek.last_complete(dt.datetime(2026, 11, 25, 12, tzinfo=UTC)) == IsoWeek(2026, 47)
    monday = dt.datetime(2027, 1, 4, 0, 0, tzinfo=UTC)
    assert IsoWeek.last_complete(monday) == IsoWeek(2026, 53)
    assert IsoWeek.last_complete(monday - dt.timedelta(microseconds=1)) == IsoWeek(2026, 52)
    # 00:30 on Monday in UTC+2 is still Sunday in UTC
    plus2 = dt.datetime(2027, 1, 4, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert IsoWeek.last_complete(plus2) == IsoWeek(2026, 52)
    with pytest.raises(ValueError, match="naive"):
        IsoWeek.of(dt.datetime(2026, 1, 1))


# --- synthetic data ----------------------------------------------------------------------------


def labels(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Rows: (id, sample, country, incident_label, verdict, event, analyst, batch, time)."""
    records = []
    for lid, sid, country, inc, verdict, event, analyst, batch, when in rows:
        records.append(
            {
                "label_id": lid,
                "sample_id": sid,
                "country": country,
                "incident_label": inc,
                "verdict": verdict,
                "event": event,
                "analyst": analyst,
                "batch_id": batch,
                "batch_status": "closed" if batch else None,
                "created_at": when,
                "seconds_spent": 12.0,
                "retracts_id": None,
            }
        )
    return pd.DataFrame.from_records(records, columns=list(LABEL_COLUMNS))


def data(frame: pd.DataFrame, **kw: Any) -> WeeklyData:
    base: dict[str, Any] = {
        "labels": frame,
        "queue_items": pd.DataFrame(columns=["label_id", "build_id", "purpose", "expected_p"]),
        "builds": {},
        "batches": pd.DataFrame(),
        "runs": [],
        "targets": ["OM", "TN"],
        "goal": 25,
        "watch_list": ["OM", "TN"],
    }
    base.update(kw)
    return WeeklyData(**base)


SUNDAY_LAST = dt.datetime(2021, 1, 3, 23, 59, 59, 999999, tzinfo=UTC)
MONDAY_FIRST = dt.datetime(2021, 1, 4, 0, 0, tzinfo=UTC)
NEW_YEAR = dt.datetime(2020, 12, 31, 12, tzinfo=UTC)
LATER = dt.datetime(2021, 3, 1, tzinfo=UTC)


@pytest.fixture
def boundary() -> WeeklyData:
    return data(
        labels(
            (1, 10, "OM", 0, "positive", "decision", "ana", 1, NEW_YEAR),
            (2, 11, "OM", 0, "negative", "decision", "ana", 1, SUNDAY_LAST),
            (3, 12, "OM", 0, "positive", "decision", "ana", 1, MONDAY_FIRST),
            (4, 12, "OM", 0, "negative", "decision", "bob", 2, MONDAY_FIRST),
            (5, 12, "OM", 0, "positive", "adjudication", "lead", None, MONDAY_FIRST),
        )
    )


def test_monday_midnight_and_year_boundary(boundary: WeeklyData) -> None:
    w53 = build_weekly_report(boundary, IsoWeek(2020, 53), generated_at=LATER)
    assert not w53["to_date"]
    om = {r["country"]: r for r in w53["countries"]}["OM"]
    assert (om["labels"], om["positives"]) == (2, 1)  # Dec 31 and Sunday 23:59:59.999999
    assert om["yield"] == pytest.approx(0.5) and om["cumulative_new_positives"] == 1
    assert (om["new_positives"], om["confirmed"], om["overturned"]) == (1, 0, 0)
    w01 = build_weekly_report(boundary, IsoWeek(2021, 1))
    om = {r["country"]: r for r in w01["countries"]}["OM"]
    assert (om["labels"], om["positives"]) == (2, 1)  # the adjudication is not a label
    assert om["cumulative"]["labels"] == 4 and om["cumulative"]["positives"] == 2
    # sample 12 was disputed (ana +, bob -) until the lead adjudicated it positive
    assert om["cumulative_new_positives"] == 2
    assert om["new_positives"] == 1  # sample 12 settled (by the adjudication) in W01
    assert w01["agreement"]["week"]["overall"]["pairs"] == 1
    assert w01["agreement"]["week"]["overall"]["first_only_positive"] == 1
    assert [h["week"] for h in w01["history"] if h["country"] == "OM"] == ["2020-W53", "2021-W01"]


def test_empty_week_gives_a_clear_report(boundary: WeeklyData) -> None:
    report = build_weekly_report(boundary, IsoWeek(2021, 5), generated_at=LATER)
    assert report["empty"] and report["message"] == (
        "no labels in 2021-W05 for OM, TN; the latest are in 2021-W01 (OM 2)"
    )
    assert report["where_labels_are"]["latest_week_in_scope"] == {
        "week": "2021-W01",
        "labels": {"OM": 2},
    }
    rows = {r["country"]: r for r in report["countries"]}
    assert rows["OM"]["labels"] == 0 and rows["OM"]["cumulative"]["labels"] == 4
    assert rows["TN"]["cumulative"]["labels"] == 0
    actions = {r["country"]: r["action"] for r in report["recommendations"]}
    assert actions == {"TN": "not_started", "OM": "continue"}
    for fmt in ("text", "md", "csv", "json"):
        assert "2021-W05" in render(report, fmt)
    assert "No labels in 2021-W05 for OM, TN" in render(report, "md")
    assert "the latest are in 2021-W01 (OM 2)" in render(report, "text")
    # labels elsewhere that week are pointed at, with the flag that shows them
    elsewhere = data(boundary.labels, countries=["TN"])
    text = render(build_weekly_report(elsewhere, IsoWeek(2021, 1), generated_at=LATER), "text")
    assert "outside the scope: OM 2 (see --countries)" in text


def test_nothing_at_all() -> None:
    report = build_weekly_report(data(empty_labels(), targets=[]), IsoWeek(2026, 47))
    assert report["empty"] and report["countries"] == [] and report["recommendations"] == []
    assert json.loads(render(report, "json"))["week"] == "2026-W47"
    assert_html_images(render(report, "html"), expected=3)


def test_low_yield_window_and_since_last_positive() -> None:
    t0 = dt.datetime(2026, 11, 16, 9, tzinfo=UTC)
    rows = [(1, 1, "TN", 0, "positive", "decision", "ana", 1, t0)]
    rows += [
        (i, i, "TN", 0, "negative", "decision", "ana", 1, t0 + dt.timedelta(minutes=i))
        for i in range(2, 22)
    ]
    report = build_weekly_report(data(labels(*rows)), IsoWeek(2026, 47))
    tn = {r["country"]: r for r in report["countries"]}["TN"]
    assert tn["labels"] == 21 and tn["labels_since_last_positive"] == 20
    assert tn["recent_labels"] == 20 and tn["recent_yield"] == 0.0
    assert tn["recent_yield_ci"] == [0.0, pytest.approx(0.161125, abs=1e-6)]  # Wilson 0/20
    (rec,) = [r for r in report["recommendations"] if r["country"] == "TN"]
    assert rec["action"] == "low_yield" and "stop, or switch strategy" in rec["message"]
    wide = build_weekly_report(data(labels(*rows)), IsoWeek(2026, 47), WeeklyOptions(window=22))
    (rec,) = [r for r in wide["recommendations"] if r["country"] == "TN"]
    assert rec["action"] == "continue"  # 21 labels do not fill a 22-label window: no verdict
    with pytest.raises(InputError):
        WeeklyOptions(window=0)


def test_run_without_metrics_is_a_note_not_an_error(boundary: WeeklyData) -> None:
    run = RunInfo("r1", MONDAY_FIRST, None, None, [1], None, "no metrics.json beside /x")
    report = build_weekly_report(data(boundary.labels, runs=[run]), IsoWeek(2021, 1))
    assert report["to_date"] is False
    (move,) = report["model_movement"]
    assert move["note"] == "no metrics.json beside /x" and move["countries"] == []
    assert "no metrics.json" in render(report, "md")


def test_json_and_csv_interfaces(boundary: WeeklyData) -> None:
    report = build_weekly_report(boundary, IsoWeek(2021, 1))
    obj = json.loads(render(report, "json"))
    assert obj["week"] == "2021-W01"
    for row in obj["countries"]:
        for key in (
            "country",
            "labels",
            "positives",
            "yield",
            "yield_ci",
            "expected_positives",
            "random_expected_positives",
            "cumulative_new_positives",
            "target",
            "new_positives",
            "confirmed",
            "overturned",
        ):
            assert key in row
        for key in ("new_positives", "confirmed", "overturned"):
            assert key in row["cumulative"]
    csv = pd.read_csv(io.StringIO(render(report, "csv")))
    assert list(csv["country"]) == ["OM", "TN"]
    assert csv.loc[0, "labels"] == 2 and csv.loc[0, "cum_labels"] == 4
    assert csv.loc[0, "yield_ci_low"] == pytest.approx(0.094531, abs=1e-6)  # Wilson 1/2


# --- HTML --------------------------------------------------------------------------------------


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.sources.append(a.get("src") or "")
        if tag in ("link", "script") and (a.get("href") or a.get("src")):
            self.external.append(tag)


def assert_html_images(page: str, expected: int) -> None:
    parser = _Images()
    parser.feed(page)
    assert len(parser.sources) == expected and not parser.external
    for src in parser.sources:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :], validate=True).startswith(PNG_SIGNATURE)


def test_html_is_one_file_with_embedded_png_charts(boundary: WeeklyData) -> None:
    runs = [
        RunInfo(
            "r1",
            MONDAY_FIRST,
            "production",
            True,
            [1],
            {
                "candidate": {
                    "per_country": {
                        "OM": {
                            "f1": 0.4,
                            "ci_low": 0.1,
                            "ci_high": 0.7,
                            "small_n": True,
                            "n": 12,
                            "positives": 3,
                        }
                    }
                },
            },
        ),
    ]
    report = build_weekly_report(data(boundary.labels, runs=runs), IsoWeek(2021, 1))
    page = render(report, "html")
    assert page.startswith("<!DOCTYPE html>") and "Weekly labelling report 2021-W01" in page
    assert_html_images(page, expected=3)
    assert report["f1_history"] == [
        {
            "run_id": "r1",
            "created_at": "2021-01-04T00:00:00+00:00",
            "country": "OM",
            "f1": 0.4,
            "ci_low": 0.1,
            "ci_high": 0.7,
            "small_n": True,
        }
    ]


# --- outcomes, the week to date, many countries ------------------------------------------------

WED = dt.datetime(2026, 11, 18, 9, tzinfo=UTC)  # Wednesday of 2026-W47


def test_yield_counts_new_positives_and_shows_confirmations_and_overturns_beside() -> None:
    """The issue's batch: 0 new positives, 1 incident day confirmed, 1 overturned is a 0% yield."""
    frame = labels(
        (1, 20, "OM", 1, "positive", "decision", "ana", 1, WED),
        (2, 21, "OM", 1, "negative", "decision", "ana", 1, WED + dt.timedelta(minutes=1)),
    )
    report = build_weekly_report(data(frame), IsoWeek(2026, 47), generated_at=LATER)
    om = {r["country"]: r for r in report["countries"]}["OM"]
    assert (om["labels"], om["positives"], om["new_positive_labels"]) == (2, 1, 0)
    assert (om["new_positives"], om["confirmed"], om["overturned"]) == (0, 1, 1)
    assert om["yield"] == 0.0 and om["cumulative_new_positives"] == 0
    text = render(report, "text")
    assert "This week: 0 new positives; incident days confirmed 1, overturned 1; 2 labels" in text
    csv = pd.read_csv(io.StringIO(render(report, "csv")))
    assert csv.loc[0, "confirmed"] == 1 and csv.loc[0, "cum_overturned"] == 1


def test_current_week_is_reported_to_date() -> None:
    frame = labels((1, 20, "OM", 0, "positive", "decision", "ana", 1, WED))
    report = build_weekly_report(data(frame), IsoWeek(2026, 47), generated_at=WED)
    assert report["to_date"] and not report["empty"]
    md = render(report, "md")
    assert md.startswith("# Weekly labelling report 2026-W47, to date")
    assert "Week in progress: 2026-11-16 to 2026-11-18 09:00 UTC" in md
    assert "`--last-week`" in md


def test_many_countries_stay_readable() -> None:
    """115 countries in scope, 12 of them labelled: no line per idle country, short legends."""
    codes = [f"{a}{b}" for a in "ABCDEFGHIJ" for b in "ABCDEFGHIJKL"][:115]
    rows = [
        (i, i, codes[i % 12], 0, "positive" if i % 3 else "negative", "decision", "ana", 1, WED)
        for i in range(1, 61)
    ]
    report = build_weekly_report(
        data(labels(*rows), countries=codes, targets=codes[:6]),
        IsoWeek(2026, 47),
        generated_at=LATER,
    )
    assert len(report["countries"]) == 115  # the JSON keeps every country
    text = render(report, "text")
    assert text.count("not started") <= 1 and "Not started (103)" in text
    assert len(text.splitlines()) < 120
    legends = [h for h in report["history"] if h["labels"]]
    assert len({h["country"] for h in legends}) == 12
    titles = [title for title, _ in charts(report)]
    assert titles[0].endswith(f"({12 - TOP_N} more countries with labels: see the tables)")
