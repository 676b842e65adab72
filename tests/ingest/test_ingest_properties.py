"""Property tests: valid files parse cleanly; one corruption of any kind is always reported.

Each test generates a valid incidents, evidence or samples file, then (for the second property)
applies exactly one corruption that is invalid by construction, and reads the whole file the way
the import service does. A row-level corruption must be reported *on the corrupted line*.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_support import context, read

from labelbench.domain.constants import FEATURES
from labelbench.ingest.kinds import Kind

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)
BAD_BYTES_MARKER = "@@BAD-BYTES@@"


@dataclass
class Table:
    """A generated file before rendering: one physical line per row, no multi-line cells."""

    kind: Kind
    header: list[str]
    rows: list[list[str]]
    required: list[str]  # header names whose cells must not be empty
    invalid: dict[str, list[str]]  # header name -> values invalid for that column
    preamble: list[str] = field(default_factory=list)

    def line_of(self, row: int) -> int:
        return len(self.preamble) + 2 + row

    def render(self) -> bytes:
        out = io.StringIO()
        for note in self.preamble:
            out.write(note + "\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue().encode("utf-8").replace(BAD_BYTES_MARKER.encode(), b"\xff\xfe")


COUNTRIES = ["Iran", "IR", "Oman", "kw", "Türkiye", "Libya", "YEM", "Côte d'Ivoire"]
DAYS = st.integers(min_value=0, max_value=500).map(lambda n: dt.date(2025, 1, 1) + dt.timedelta(n))
BAD_DATES = ["2026-13-45", "yesterday-ish", "31/31/2026", "2/30/2026", "1/31/26", "March 2026"]
BAD_COUNTRIES = ["Xq9", "Atlantis", "ZZ", "Congo"]
BAD_NUMBERS = ["12abc", "nan", "1,5", "--1"]


def date_text(day: dt.date, style: int) -> str:
    if style == 0:
        return day.isoformat()
    if style == 1:
        return f"{day.month}/{day.day}/{day.year}"
    return f"{day.day} {day:%B} {day.year}"


@st.composite
def incident_tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(min_value=1, max_value=12))
    rows = []
    for i in range(n):
        start = draw(DAYS)
        style = draw(st.integers(0, 2))
        end_kind = draw(st.sampled_from(["date", "date", "ongoing", "empty"]))
        if end_kind == "date":
            end = date_text(start + dt.timedelta(draw(st.integers(0, 40))), style)
        else:
            end = "Ongoing" if end_kind == "ongoing" else ""
        rows.append(
            [
                draw(st.sampled_from(COUNTRIES)),
                date_text(start, style),
                end,
                draw(st.sampled_from(["Shutdown", "Social media block", "Power outage", "mixed"])),
                draw(st.sampled_from(["Access Now", "", "OONI, Explorer"])),
                f"https://example.org/incident/{i}",  # unique: no conflicting repeats
            ]
        )
    preamble = draw(st.sampled_from([[], ["Compiled by hand, exported 2026-11-01"]]))
    return Table(
        kind="incidents",
        header=["Country", "Start date", "End date", "Type", "Source", "Link"],
        rows=rows,
        required=["Country", "Start date", "Type"],
        invalid={
            "Country": BAD_COUNTRIES,
            "Start date": BAD_DATES,
            "End date": [*BAD_DATES, "1900-01-01"],  # the last one ends before the start
            "Type": ["Protest", "riot"],
        },
        preamble=preamble,
    )


@st.composite
def evidence_tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(min_value=1, max_value=12))
    base = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(n):
        stamp = base + dt.timedelta(hours=draw(st.integers(0, 2000)), seconds=i)
        observed = draw(
            st.sampled_from(
                [
                    stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    stamp.strftime("%Y-%m-%d %H:%M:%S"),
                    stamp.isoformat(),
                ]
            )
        )
        confidence = draw(st.sampled_from(["", "0", "0.75", "1", "1e-1"]))
        rows.append(
            [
                draw(st.sampled_from(["ooni", "OONI", "Censored Planet", "ioda", "probe"])),
                draw(st.sampled_from(["", f"ref-{i}"])),
                observed,
                draw(st.sampled_from(COUNTRIES)),
                draw(st.sampled_from(["true", "False", "yes", "0", "1"])),
                draw(st.sampled_from(["", "AS1234", "5678", "as99"])),
                confidence,
                draw(st.sampled_from(["", "0.5", "-3", "1e3"])),
            ]
        )
    return Table(
        kind="evidence",
        header=(
            "source source_ref observed_at country anomalous asn confidence signal_value".split()
        ),
        rows=rows,
        required=["source", "observed_at", "country", "anomalous"],
        invalid={
            "source": ["radio", "twitter"],
            "observed_at": ["yesterday-ish", "2026-13-45T00:00:00Z", "1/31/2026 10:00"],
            "country": BAD_COUNTRIES,
            "anomalous": ["maybe", "2"],
            "asn": ["ASX", "AS-1"],
            "confidence": [*BAD_NUMBERS, "-5", "1.5"],
            "signal_value": [*BAD_NUMBERS, "inf"],
        },
    )


def feature_values(draw: st.DrawFn, day: dt.date) -> dict[str, str]:
    unit = st.floats(min_value=0, max_value=1, allow_nan=False).map(lambda x: f"{x:.4f}")
    count = st.integers(min_value=0, max_value=500)
    measurements = draw(count)
    values = {f: draw(unit) for f in FEATURES}
    values.update(
        measurement_count=str(measurements),
        day_of_week=str(day.weekday()),
        month=str(day.month),
        is_weekend=str(int(day.weekday() >= 5)),
        high_evidence=str(int(measurements >= 50)),
        probe_node_count=str(draw(st.integers(0, 9))),
        spike_magnitude=draw(st.sampled_from(["1", "3.25", "0.5e1"])),
        rate_count_interaction=str(draw(count)),
        neighbor_incident_count_7d=draw(st.sampled_from(["0", "0.4", "2"])),
    )
    return values


@st.composite
def sample_tables(draw: st.DrawFn) -> Table:
    n = draw(st.integers(min_value=1, max_value=10))
    first = draw(DAYS)
    rows = []
    for i in range(n):
        day = first + dt.timedelta(days=i)  # distinct days: no (country, day) repeats
        values = feature_values(draw, day)
        rows.append(
            [
                draw(st.sampled_from(COUNTRIES)),
                day.isoformat(),
                *(values[f] for f in FEATURES),
                draw(st.sampled_from(["", "0", "1", "yes", "negative"])),
            ]
        )
    never_negative = ["-5", *BAD_NUMBERS]
    return Table(
        kind="samples",
        header=["country", "day", *FEATURES, "label"],
        rows=rows,
        required=["country", "day", *FEATURES],
        invalid={
            "country": BAD_COUNTRIES,
            "day": BAD_DATES,
            **dict.fromkeys(FEATURES, BAD_NUMBERS),
            "anomaly_rate": [*never_negative, "1.5"],
            "measurement_count": never_negative,
            "probe_node_count": never_negative,
            "neighbor_incident_count_7d": never_negative,
            "day_of_week": ["7", "2.5", *never_negative],
            "month": ["0", "13"],
            "is_weekend": ["2"],
            "label": ["maybe", "2"],
        },
    )


TABLES = {"incidents": incident_tables, "evidence": evidence_tables, "samples": sample_tables}


@dataclass
class Corruption:
    description: str
    line: int | None  # the corrupted line for row-level corruptions, None for header-level ones


def corrupt(table: Table, draw: Callable[..., object]) -> Corruption:
    """Apply exactly one corruption that makes the file invalid by construction."""
    action = draw(
        st.sampled_from(
            ["bad cell", "bad cell", "empty required", "drop column", "rename header",
             "extra field", "missing field", "bad bytes"]
        )
    )  # fmt: skip
    row = int(draw(st.integers(0, len(table.rows) - 1)))  # type: ignore[call-overload]
    line = table.line_of(row)
    if action == "bad cell":
        column = str(draw(st.sampled_from(sorted(table.invalid))))
        j = table.header.index(column)
        value = str(draw(st.sampled_from(table.invalid[column])))
        table.rows[row][j] = value
        return Corruption(f"{column}={value!r}", line)
    if action == "empty required":
        column = str(draw(st.sampled_from(table.required)))
        table.rows[row][table.header.index(column)] = ""
        return Corruption(f"empty {column}", line)
    if action == "drop column":
        column = str(draw(st.sampled_from(table.required)))
        j = table.header.index(column)
        table.header.pop(j)
        for cells in table.rows:
            cells.pop(j)
        return Corruption(f"drop {column}", None)
    if action == "rename header":
        j = int(draw(st.integers(0, len(table.header) - 1)))  # type: ignore[call-overload]
        name = table.header[j]
        table.header[j] = name[:1] + "x" + name[1:] + "q"
        return Corruption(f"rename {name}", None)
    if action == "extra field":
        table.rows[row].append("surplus")
        return Corruption("extra field", line)
    if action == "missing field":
        table.rows[row].pop()  # the first cell (a country) stays: the row is never all-empty
        return Corruption("missing field", line)
    j = int(draw(st.integers(0, len(table.header) - 1)))  # type: ignore[call-overload]
    table.rows[row][j] += BAD_BYTES_MARKER
    return Corruption(f"bad bytes in {table.header[j]}", line)


@pytest.mark.parametrize("kind", sorted(TABLES))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_valid_files_parse_without_errors(
    kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    table = data.draw(TABLES[kind]())
    path = tmp_path_factory.mktemp("valid") / f"{kind}.csv"
    path.write_bytes(table.render())
    result = read(path, table.kind)
    assert result.described() == []
    assert len(result.frame) == len(table.rows) and result.duplicates == 0
    assert result.frame["line"].tolist() == [table.line_of(i) for i in range(len(table.rows))]


@pytest.mark.parametrize("kind", sorted(TABLES))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_one_corruption_is_always_reported(
    kind: str, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    table = data.draw(TABLES[kind]())
    corruption = corrupt(table, data.draw)
    path = tmp_path_factory.mktemp("corrupt") / f"{kind}.csv"
    path.write_bytes(table.render())
    # Strict columns: by default a renamed optional column is only a notice (real lists carry
    # descriptive extras), so "every corruption is reported" holds under --strict-columns.
    result = read(path, table.kind, context(strict_columns=True))
    assert result.errors, f"{corruption.description} was not reported"
    if corruption.line is not None:
        assert corruption.line in result.lines, (corruption, result.described())
        assert corruption.line not in set(result.frame.get("line", []))
