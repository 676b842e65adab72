"""Header mapping and per-kind parsing: exact frames for good files, exact errors for bad cells."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ingest_support import KNOWN, ONGOING_UNTIL, Read, context, read, write

from labelbench.domain.constants import FEATURES
from labelbench.ingest.kinds import (
    COUNTRY_OUTPUT,
    EVIDENCE_OUTPUT,
    INCIDENT_OUTPUT,
    SAMPLE_OUTPUT,
    ColumnMap,
    ParseContext,
    detect_evidence_kind,
    header_hints,
    map_columns,
    parse_chunk,
)
from labelbench.ingest.table import RawChunk, RowError

D = dt.date


def parse_text(tmp_path: Path, kind: str, text: str, ctx: ParseContext | None = None) -> Read:
    return read(write(tmp_path, f"{kind}.csv", text), kind, ctx)  # type: ignore[arg-type]


def problems(result: Read) -> list[tuple[int, str | None, str]]:
    return [(e.line, e.column, e.message) for e in result.errors]


def obj(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# ---------------------------------------------------------------------------------------------
# Header mapping
# ---------------------------------------------------------------------------------------------


def test_detect_evidence_kind() -> None:
    assert detect_evidence_kind(["probe_cc", "Measurement Count", "anomaly_count"]) == "ooni"
    assert detect_evidence_kind(["country", "observed_at", "anomalous"]) == "evidence"


def test_header_hints_cover_every_alias() -> None:
    assert {"first_seen", "start_date", "end", "type", "link"} <= header_hints("incidents")
    assert set(FEATURES) <= header_hints("samples")
    assert {"probe_cc", "measurement_start_day", "input"} <= header_hints("ooni")


def test_map_columns_matches_aliases_and_keeps_raw_names() -> None:
    cmap = map_columns(
        "incidents", ["Country", "Start date", "End date", "Type", "Source", "Link"], 2, context()
    )
    assert cmap.errors == []
    assert cmap.columns == {
        "country": "Country",
        "first_seen": "Start date",
        "last_seen": "End date",
        "incident_type": "Type",
        "source": "Source",
        "citation_url": "Link",
    }


def test_map_columns_reports_every_header_problem() -> None:
    cmap = map_columns(
        "samples",
        ["country", "Date", "measurement_day", "anomaly_rte", *FEATURES[1:], "colour"],
        3,
        context(strict_columns=True),
    )
    assert cmap.errors == [
        RowError(
            3, "measurement_day", "columns 'Date' and 'measurement_day' both give day: keep one"
        ),
        RowError(3, "anomaly_rte", "unknown column 'anomaly_rte' (did you mean 'anomaly_rate'?)"),
        RowError(
            3,
            "colour",
            "unknown column 'colour' (rename or remove it, or import without --strict-columns)",
        ),
        RowError(3, None, "missing required column 'anomaly_rate' (accepted names: anomaly_rate)"),
    ]


def test_a_column_named_like_the_field_wins_over_its_synonyms() -> None:
    """labelbench's own samples export has `label` and `incident_label`: `label` is the label."""
    header = ["country", "Date", "day", *FEATURES, "incident_label", "Label"]
    cmap = map_columns("samples", header, 1, context())
    assert cmap.errors == []
    assert cmap.columns["day"] == "day" and cmap.columns["label"] == "Label"
    assert cmap.ignored == ["Date", "incident_label"]


def test_missing_required_column_lists_accepted_names() -> None:
    cmap = map_columns("incidents", ["country", "end", "type"], 1, context())
    assert cmap.errors == [
        RowError(
            1,
            None,
            "missing required column 'first_seen' (accepted names: first_seen, start, "
            "start_date, started, from, begin, began, date_start, start_day, date)",
        )
    ]


def test_unknown_columns_are_ignored_with_a_notice_unless_strict() -> None:
    columns = ["country", "start", "end", "type", "Notes", "Reporter", "Casualties"]
    cmap = map_columns("incidents", columns, 1, context())
    assert cmap.errors == [] and cmap.ignored == ["Notes", "Reporter", "Casualties"]
    assert cmap.unknown == ["Reporter", "Casualties"]  # Notes is a known descriptive extra
    strict = map_columns("incidents", columns, 1, context(strict_columns=True))
    assert [e.column for e in strict.errors] == ["Reporter", "Casualties"]


def test_a_typo_of_a_required_column_is_still_an_error() -> None:
    cmap = map_columns("incidents", ["country", "strat", "end", "type"], 1, context())
    assert (cmap.errors[0].column, cmap.errors[0].message) == (
        "strat",
        "unknown column 'strat' (did you mean 'start'?)",
    )


def test_ooni_extras_are_ignored() -> None:
    columns = [
        "probe_cc", "measurement_start_day", "anomaly_count", "confirmed_count", "failure_count",
        "measurement_count", "ok_count", "input", "category_code", "axis_x", "probe_asn_name",
    ]  # fmt: skip
    cmap = map_columns("ooni", columns, 1, context())
    assert cmap.errors == []
    assert cmap.ignored == ["input", "category_code", "axis_x", "probe_asn_name"]


def test_kind_specific_header_rules() -> None:
    no_type = map_columns("incidents", ["country", "start", "end"], 1, context())
    assert no_type.errors == [
        RowError(1, None, "no incident type column: add one or pass --default-type")
    ]
    assert (
        map_columns(
            "incidents", ["country", "start", "end"], 1, context(default_type="Shutdown")
        ).errors
        == []
    )
    assert (
        map_columns("evidence", ["country", "timestamp", "anomalous"], 1, context())
        .errors[0]
        .message.startswith("missing required column 'source'")
    )
    assert (
        map_columns(
            "evidence", ["cc", "timestamp", "blocked"], 1, context(default_source="OONI")
        ).errors
        == []
    )
    neither = map_columns("countries", ["country"], 1, context())
    assert [e.message.split(":")[0] for e in neither.errors] == ["no cluster or neighbours column"]


def test_bad_options_are_header_errors() -> None:
    ctx = context(
        type_map={"Protest": "riot"},
        default_type="sometimes",
        country_map={"Atlantis": "ZZ"},
    )
    messages = [
        e.message for e in map_columns("incidents", ["country", "start", "end"], 1, ctx).errors
    ]
    assert messages == [
        "--country-map 'Atlantis=ZZ': 'ZZ' is not in the countries table",
        "--type-map 'Protest=riot': 'riot' is not one of censorship, mixed, disruption",
        "--default-type 'sometimes' is not an incident type (use one of censorship, mixed, "
        "disruption)",
    ]
    bad_source = map_columns("evidence", ["cc", "time", "blocked"], 1, context(default_source="x"))
    assert [e.message for e in bad_source.errors] == [
        "unknown --source 'x' (accepted: ooni, censoredplanet, ioda, probe)"
    ]


# ---------------------------------------------------------------------------------------------
# Evidence
# ---------------------------------------------------------------------------------------------

EVIDENCE_HEADER = (
    "source,kind,source_ref,observed_at,country,asn,signal_value,confidence,anomalous,domain\n"
)


def canonical_ref(*fields: str) -> str:
    return "row:" + hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:32]


def test_evidence_valid_file_exact_frame(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        EVIDENCE_HEADER
        + "OONI,web_connectivity,m-1,2026-06-10T02:10:00Z,Oman,28885,,0.5,true,twitter.com\n"
        + "Censored Planet,,,2026-06-10 23:30:00-02:00,kw,as9155,1.5,,no,\n",
    )
    assert result.errors == [] and result.duplicates == 0
    generated = canonical_ref(
        "censoredplanet", "KW", "2026-06-11T01:30:00.000000Z", "measurement", "AS9155",
        "\\N", "\\N", "1.5", "\\N", "\\N", "\\N", "\\N", "false",
    )  # fmt: skip
    expected = pd.DataFrame(
        {
            "source": obj("ooni", "censoredplanet"),
            "kind": obj("web_connectivity", "measurement"),
            "source_ref": obj("m-1", generated),
            "source_url": obj(None, None),
            "observed_at": pd.Series(
                [utc("2026-06-10T02:10:00"), utc("2026-06-11T01:30:00")],
                dtype="datetime64[us, UTC]",
            ),
            "day": obj(D(2026, 6, 10), D(2026, 6, 11)),
            "country": obj("OM", "KW"),
            "asn": obj("AS28885", "AS9155"),
            "signal_type": obj(None, None),
            "signal_value": [np.nan, 1.5],
            "signal_baseline": [np.nan, np.nan],
            "signal_level": obj(None, None),
            "domain": obj("twitter.com", None),
            "blocking_method": obj(None, None),
            "confidence": [0.5, np.nan],
            "anomalous": [True, False],
            "measurements": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "anomalous_measurements": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "line": np.array([2, 3], dtype=np.int64),
        }
    )
    assert list(result.frame.columns) == list(EVIDENCE_OUTPUT)
    pd.testing.assert_frame_equal(result.frame, expected)


def test_evidence_identical_rows_get_identical_refs(tmp_path: Path) -> None:
    row = "ioda,,,2026-06-10T00:00:00Z,IR,,0.25,,1,\n"
    result = parse_text(tmp_path, "evidence", EVIDENCE_HEADER + row + row)
    assert result.errors == [] and result.duplicates == 1 and len(result.frame) == 1
    again = parse_text(tmp_path, "evidence", EVIDENCE_HEADER + row)
    assert again.frame["source_ref"].tolist() == result.frame["source_ref"].tolist()


def test_evidence_bad_cells_are_all_reported(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        EVIDENCE_HEADER
        + "ooni,x,ok-1,2026-06-10T00:00:00Z,IR,AS1,1,0.5,true,\n"
        + f"radio,{'k' * 41},r-2,yesterday,Atlantis,ASX,nan,1.5,maybe,\n"
        + "ooni,x,r-3,,,,,,,\n",
    )
    assert problems(result) == [
        (3, "source", "unknown source 'radio' (accepted: ooni, censoredplanet, ioda, probe)"),
        (3, "country", "unknown country 'Atlantis'"),
        (
            3,
            "observed_at",
            "cannot read 'yesterday' as a timestamp (use ISO 8601, e.g. 2026-06-01T12:00:00Z)",
        ),
        (3, "anomalous", "cannot read 'maybe' as true or false (use true/false, yes/no or 1/0)"),
        (3, "kind", "longer than 40 characters (41 characters)"),
        (3, "asn", "cannot read 'ASX' as an AS number (write e.g. AS12345 or 12345)"),
        (3, "signal_value", "'nan' is not a finite number"),
        (3, "confidence", "1.5 is outside the range 0 to 1"),
        (4, "country", "missing value (this column is required)"),
        (4, "observed_at", "missing value (this column is required)"),
        (4, "anomalous", "missing value (this column is required)"),
    ]
    assert result.errors[0].value == "radio"
    assert result.frame["line"].tolist() == [2]


def test_evidence_same_ref_with_other_values_conflicts(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        EVIDENCE_HEADER
        + "ooni,x,m-1,2026-06-10T00:00:00Z,IR,,,,true,\n"
        + "ooni,x,m-1,2026-06-10T00:00:00Z,IR,,,,false,\n"
        + "ooni,x,m-1,2026-06-10T00:00:00Z,IR,,,,true,\n",
    )
    assert problems(result) == [
        (3, "source_ref", "same source and source_ref as line 2 but different values")
    ]
    assert result.duplicates == 1 and result.frame["line"].tolist() == [2]


def test_evidence_default_source(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        "cc,timestamp,blocked\nIR,2026-06-10T00:00:00Z,yes\n",
        context(default_source="Probes"),
    )
    assert result.errors == [] and result.frame["source"].tolist() == ["probe"]


# ---------------------------------------------------------------------------------------------
# OONI aggregates
# ---------------------------------------------------------------------------------------------

OONI_HEADER = (
    "probe_cc,measurement_start_day,test_name,probe_asn,anomaly_count,confirmed_count,"
    "failure_count,measurement_count,ok_count,axis_x\n"
)


def test_ooni_valid_file_exact_frame(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        OONI_HEADER
        + "OM,2026-06-10,web_connectivity,AS28885,3,1,2,20,14,a\n"
        + "KW,2026-06-11,,,0,0,0,5,5,b\n"
        + "YE,2026-06-12,signal,,0,0,0,0,0,c\n",
    )
    assert result.kind == "ooni" and result.errors == [] and result.empty == 1
    frame = result.frame
    assert list(frame.columns) == list(EVIDENCE_OUTPUT)
    assert frame["source_ref"].tolist() == [
        "ooni-agg:OM:2026-06-10:web_connectivity:AS28885:*",
        "ooni-agg:KW:2026-06-11:*:*:*",
    ]
    assert frame["source_url"].tolist() == [
        "https://explorer.ooni.org/chart/mat?probe_cc=OM&since=2026-06-10&until=2026-06-11"
        "&test_name=web_connectivity",
        "https://explorer.ooni.org/chart/mat?probe_cc=KW&since=2026-06-11&until=2026-06-12",
    ]
    assert frame["source"].tolist() == ["ooni", "ooni"]
    assert frame["kind"].tolist() == ["web_connectivity", "aggregate"]
    assert frame["observed_at"].tolist() == [utc("2026-06-10"), utc("2026-06-11")]
    assert frame["day"].tolist() == [D(2026, 6, 10), D(2026, 6, 11)]
    assert frame["asn"].tolist() == ["AS28885", None]
    assert frame["signal_type"].tolist() == ["anomaly_share", "anomaly_share"]
    assert frame["signal_value"].tolist() == [0.2, 0.0]
    assert frame["signal_baseline"].isna().all() and frame["confidence"].isna().all()
    assert frame["signal_level"].tolist() == ["confirmed", "ok"]
    assert frame["anomalous"].tolist() == [True, False]
    assert frame["measurements"].tolist() == [20, 5]
    assert frame["anomalous_measurements"].tolist() == [4, 0]
    assert str(frame["measurements"].dtype) == "Int64"
    assert frame["line"].tolist() == [2, 3]


def test_ooni_counts_must_add_up(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "evidence",
        OONI_HEADER
        + "OM,2026-06-10,,,3,1,2,21,14,\n"
        + "OM,2026-06-11,,,-1,0,0,1,2,\n"
        + "OM,2026-06-12,,,1.5,0,0,2,0.5,\n",
    )
    assert problems(result) == [
        (
            2,
            "measurement_count",
            "anomaly_count + confirmed_count + failure_count + ok_count = 20, not the "
            "measurement_count 21",
        ),
        (3, "anomaly_count", "-1 is negative (must be 0 or more)"),
        (4, "anomaly_count", "'1.5' is not a whole number"),
        (4, "ok_count", "'0.5' is not a whole number"),
    ]


# ---------------------------------------------------------------------------------------------
# Incidents
# ---------------------------------------------------------------------------------------------

INCIDENT_HEADER = "Country,Start date,End date,Type,Source,Link\n"


def import_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def test_incidents_valid_file_exact_frame(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "incidents",
        "Compiled by hand, exported 2026-11-01\n"
        + INCIDENT_HEADER
        + "Iran,2026-06-01,6/3/2026,Shutdown,Access Now,https://example.org/1\n"
        + "Türkiye,10 June 2026,Ongoing,Social media block,,\n"
        + "Libya,2026-07-29,,Power outage,IODA,\n"
        + "Oman,2026-08-05,present,BOTH,,\n",
    )
    assert result.errors == [] and result.header_line == 2
    expected = pd.DataFrame(
        {
            "country": ["IR", "TR", "LY", "OM"],
            "first_seen": [D(2026, 6, 1), D(2026, 6, 10), D(2026, 7, 29), D(2026, 8, 5)],
            "last_seen": [D(2026, 6, 3), ONGOING_UNTIL, ONGOING_UNTIL, D(2026, 8, 5)],
            "incident_type": ["censorship", "censorship", "disruption", "mixed"],
            "source": ["Access Now", None, "IODA", None],
            "citation_url": ["https://example.org/1", None, None, None],
            "open_ended": [False, True, True, True],
            "import_key": [
                import_key("IR", "2026-06-01", "censorship", "Access Now", "https://example.org/1"),
                import_key("TR", "2026-06-10", "censorship", "", ""),
                import_key("LY", "2026-07-29", "disruption", "IODA", ""),
                import_key("OM", "2026-08-05", "mixed", "", ""),
            ],
            "line": np.array([3, 4, 5, 6], dtype=np.int64),
        },
        dtype=object,
    ).astype({"open_ended": bool, "line": np.int64})
    assert list(result.frame.columns) == list(INCIDENT_OUTPUT)
    pd.testing.assert_frame_equal(result.frame, expected)


def test_incident_bad_cells(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "incidents",
        INCIDENT_HEADER
        + "Atlantis,2026-02-01,2026-01-01,Protest,x,\n"
        + "Iran,31/31/2020,,,,\n"
        + "Iran,2026-01-01,1/31/20,censorship,"
        + "s" * 41
        + ",\n",
    )
    assert problems(result) == [
        (2, "Country", "unknown country 'Atlantis'"),
        (2, "End date", "ends (2026-01-01) before it starts (2026-02-01)"),
        (
            2,
            "Type",
            "unknown incident type 'Protest' (map it with --type-map 'Protest=censorship')",
        ),
        (3, "Start date", "cannot read '31/31/2020' as a date"),
        (3, "Type", "missing incident type (pass --default-type)"),
        (4, "End date", "cannot read '1/31/20' as a date (use a four-digit year)"),
        (4, "Source", "longer than 40 characters (41 characters)"),
    ]
    assert result.frame.empty


def test_incident_types_default_and_user_map(tmp_path: Path) -> None:
    ctx = context(default_type="disruption", type_map={"protest": "censorship"})
    result = parse_text(
        tmp_path,
        "incidents",
        "country,start,end,type\nIR,2026-01-01,2026-01-02,\nIR,2026-01-03,2026-01-04,PROTEST\n",
        ctx,
    )
    assert result.errors == []
    assert result.frame["incident_type"].tolist() == ["disruption", "censorship"]
    no_column = parse_text(
        tmp_path, "incidents", "country,start,end\nIR,2026-01-01,2026-01-02\n", ctx
    )
    assert no_column.frame["incident_type"].tolist() == ["disruption"]


def test_incident_duplicates_and_conflicts(tmp_path: Path) -> None:
    row = "Iran,2026-06-01,2026-06-03,Shutdown,Access Now,https://example.org/1\n"
    result = parse_text(
        tmp_path,
        "incidents",
        INCIDENT_HEADER
        + row
        + row
        + "IR,2026-06-01,2026-06-09,shutdown,Access Now,https://example.org/1\n",
    )
    assert result.duplicates == 1
    assert problems(result) == [
        (
            4,
            "End date",
            "conflicts with line 2: same country, start, type, source, link and region but a "
            "different end",
        )
    ]
    assert result.frame["line"].tolist() == [2]


def test_incidents_need_ongoing_until(tmp_path: Path) -> None:
    path = write(tmp_path, "i.csv", "country,start,end,type\nIR,2026-01-01,,censorship\n")
    ctx = ParseContext(known_countries=KNOWN)
    with pytest.raises(ValueError, match="ongoing_until"):
        read(path, "incidents", ctx)


# ---------------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------------

GOOD_FEATURES = {
    "anomaly_rate": "0.5",
    "measurement_count": "60",
    "spike_magnitude": "2.5",
    "day_of_week": "0",
    "month": "6",
    "is_weekend": "0",
    "rate_count_interaction": "30",
    "probe_block_rate": "0",
    "probe_node_count": "0",
    "probe_avg_confidence": "0",
    "probe_agreement": "0",
    "rate_spike_interaction": "1.25",
    "high_evidence": "1",
    "neighbor_block_rate_7d": "0.1",
    "neighbor_incident_count_7d": "0.5",
    "neighbor_max_anomaly_7d": "0.2",
}
SAMPLE_HEADER = "country,day," + ",".join(FEATURES) + ",label,evidence_count\n"


def sample_row(
    country: str = "YE", day: str = "2026-06-01", label: str = "", **changes: str
) -> str:
    values = {**GOOD_FEATURES, **changes}
    count = values.pop("evidence_count", "")
    return ",".join([country, day, *(values[f] for f in FEATURES), label, count]) + "\n"


def test_samples_valid_file_exact_frame(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "samples",
        SAMPLE_HEADER
        + sample_row(label="yes", evidence_count="60")
        + sample_row("Libya", "2026-06-02", day_of_week="1", label="negative"),
    )
    assert result.errors == []
    expected = pd.DataFrame(
        {
            "country": pd.Series(["YE", "LY"], dtype=object),
            "day": pd.Series([D(2026, 6, 1), D(2026, 6, 2)], dtype=object),
            **{f: [float(GOOD_FEATURES[f])] * 2 for f in FEATURES},
            "given_label": pd.array([1, 0], dtype="Int64"),
            "evidence_count": np.array([60, 0], dtype=np.int64),
            "line": np.array([2, 3], dtype=np.int64),
        }
    )
    expected.loc[1, "day_of_week"] = 1.0
    assert list(result.frame.columns) == list(SAMPLE_OUTPUT)
    pd.testing.assert_frame_equal(result.frame, expected)


def test_samples_without_label_column(tmp_path: Path) -> None:
    header = "country,day," + ",".join(FEATURES) + "\n"
    row = "YE,2026-06-01," + ",".join(GOOD_FEATURES[f] for f in FEATURES) + "\n"
    result = parse_text(tmp_path, "samples", header + row)
    assert result.frame["given_label"].isna().all()
    assert result.frame["evidence_count"].tolist() == [0]


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"day_of_week": "7"}, "day_of_week", "7 is outside the range 0 to 6"),
        ({"day_of_week": "2.5"}, "day_of_week", "'2.5' is not a whole number"),
        ({"month": "13"}, "month", "13 is outside the range 1 to 12"),
        ({"is_weekend": "2"}, "is_weekend", "2 is outside the range 0 to 1"),
        ({"high_evidence": "0.5"}, "high_evidence", "'0.5' is not a whole number"),
        ({"anomaly_rate": "1.2"}, "anomaly_rate", "1.2 is outside the range 0 to 1"),
        ({"measurement_count": "-1"}, "measurement_count", "-1 is negative (must be 0 or more)"),
        ({"probe_node_count": "-2"}, "probe_node_count", "-2 is negative (must be 0 or more)"),
        ({"spike_magnitude": "nan"}, "spike_magnitude", "'nan' is not a finite number"),
        ({"spike_magnitude": "inf"}, "spike_magnitude", "'inf' is not a finite number"),
        ({"spike_magnitude": ""}, "spike_magnitude", "missing value (this column is required)"),
        (
            {"rate_count_interaction": "1,234.5"},
            "rate_count_interaction",
            "cannot read '1,234.5' as a number (write it without thousands separators and "
            "with '.' for decimals)",
        ),
        ({"probe_agreement": "12abc"}, "probe_agreement", "cannot read '12abc' as a number"),
        ({"evidence_count": "-5"}, "evidence_count", "-5 is negative (must be 0 or more)"),
        (
            {"label": "maybe"},
            "label",
            "cannot read 'maybe' as a label (use 1/0, yes/no, true/false or positive/negative)",
        ),
    ],
)
def test_sample_bad_cells(
    tmp_path: Path, changes: dict[str, str], column: str, message: str
) -> None:
    label = changes.pop("label", "")
    text = SAMPLE_HEADER + sample_row(day="2026-06-02") + sample_row(label=label, **changes)
    if "rate_count_interaction" in changes:
        text = text.replace("1,234.5", '"1,234.5"')
    result = parse_text(tmp_path, "samples", text)
    assert problems(result) == [(3, column, message)]
    assert result.frame["line"].tolist() == [2]


def test_sample_duplicates_and_conflicts(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "samples",
        SAMPLE_HEADER + sample_row() + sample_row() + sample_row(anomaly_rate="0.6"),
    )
    assert result.duplicates == 1
    assert problems(result) == [
        (4, None, "conflicts with line 2: same country and day but different values")
    ]


# ---------------------------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------------------------


def test_countries_valid_file_exact_frame(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "countries",
        "country,cluster,neighbours\n"
        "Oman,Gulf,AE;SA;YE;SA\n"
        "KW,Gulf,\n"
        "TN,none,-\n"
        "LY,,EG TN  DZ\n"
        "YE,NULL,Saudi Arabia|Oman\n"
        "AM,-,none\n"
        'SA,,"Yemen, Oman"\n',
    )
    assert result.errors == []
    expected = pd.DataFrame(
        {
            "country": ["OM", "KW", "TN", "LY", "YE", "AM", "SA"],
            "cluster_action": ["set", "set", "clear", "keep", "clear", "clear", "keep"],
            "cluster": ["Gulf", "Gulf", None, None, None, None, None],
            "neighbours": [
                ["AE", "SA", "YE"],
                None,
                [],
                ["DZ", "EG", "TN"],
                ["OM", "SA"],
                [],
                ["OM", "YE"],
            ],
            "line": np.arange(2, 9, dtype=np.int64),
        },
        dtype=object,
    ).astype({"line": np.int64})
    assert list(result.frame.columns) == list(COUNTRY_OUTPUT)
    pd.testing.assert_frame_equal(result.frame, expected)


def test_country_bad_cells(tmp_path: Path) -> None:
    result = parse_text(
        tmp_path,
        "countries",
        f"country,cluster,neighbours\nOM,Gulf,AE;Atlantis;OM\nKW,{'g' * 61},\nOM,Gulf,\nCongo,,\n",
    )
    assert problems(result) == [
        (2, "neighbours", "unknown neighbour 'Atlantis'"),
        (2, "neighbours", "lists itself as a neighbour ('OM')"),
        (3, "cluster", "longer than 60 characters (61 characters)"),
        (
            5,
            "country",
            "unknown country 'Congo' (it could be CD (Democratic Republic of the Congo) or CG "
            "(Republic of the Congo): use the ISO code)",
        ),
    ]
    assert result.errors[0].value == "Atlantis"
    assert result.frame["line"].tolist() == [4]  # line 2 was bad, so line 4 is the first OM


def test_country_listed_twice(tmp_path: Path) -> None:
    result = parse_text(tmp_path, "countries", "country,cluster\nOM,Gulf\nOman,Gulf\n")
    assert problems(result) == [(3, "country", "country OM already appears on line 2")]


# ---------------------------------------------------------------------------------------------
# Chunk-level behaviour
# ---------------------------------------------------------------------------------------------


def test_empty_chunk_parses_to_an_empty_typed_frame() -> None:
    for kind, columns in (
        ("evidence", ["country", "observed_at", "source", "anomalous"]),
        ("ooni", ["probe_cc", "day", "measurement_count", "anomaly_count", "confirmed_count",
                  "failure_count", "ok_count"]),
        ("incidents", ["country", "start", "end", "type"]),
        ("samples", ["country", "day", *FEATURES]),
        ("countries", ["country", "cluster"]),
    ):  # fmt: skip
        cmap = map_columns(kind, columns, 1, context())  # type: ignore[arg-type]
        chunk = RawChunk(
            frame=pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}),
            lines=np.zeros(0, dtype=np.int64),
            errors=[],
            bad_rows={},
        )
        result = parse_chunk(kind, chunk, cmap, context())  # type: ignore[arg-type]
        assert len(result.frame) == 0 and result.errors == []
        assert result.frame["line"].dtype == np.int64


def test_parse_chunk_rejects_a_map_of_another_kind() -> None:
    cmap = ColumnMap(kind="samples", columns={}, ignored=[], errors=[])
    chunk = RawChunk(pd.DataFrame(), np.zeros(0, dtype=np.int64), [], {})
    with pytest.raises(ValueError, match="column map is for samples"):
        parse_chunk("incidents", chunk, cmap, context())
