"""The hand-written fixture files parse as their README says (service and CLI tests rely on it)."""

from __future__ import annotations

import datetime as dt

import pytest
from ingest_support import FIXTURES, ONGOING_UNTIL, context, read

from labelbench.domain.constants import MIN_EVIDENCE_ROWS
from labelbench.ingest.kinds import header_hints
from labelbench.ingest.table import RowError, TableFile
from labelbench.ingest.values import infer_date_order


@pytest.mark.parametrize("name", ["incidents_realworld.csv", "incidents_clean.csv"])
def test_incident_fixtures(name: str) -> None:
    path = FIXTURES / name
    with TableFile(path, header_hints=header_hints("incidents")) as table:
        assert table.header_line == 2
        assert table.preamble[0].startswith("Incident list compiled by")
        assert table.columns == ["Country", "Start date", "End date", "Type", "Source", "Link"]
        chunk = next(table.chunks())
    dates = [*chunk.frame["Start date"], *chunk.frame["End date"]]
    assert infer_date_order(dates) == "mdy"
    result = read(path, "incidents")
    if name == "incidents_realworld.csv":
        assert result.errors == [RowError(16, "Country", "unknown country 'Atlantis'", "Atlantis")]
    else:
        assert result.errors == []
    frame = result.frame
    assert result.duplicates == 1 and len(frame) == 13
    assert set(frame["country"]) == {"IR", "RU", "TR", "OM", "LY", "YE", "KW", "AM", "TN", "CD"}
    assert set(frame["incident_type"]) == {"censorship", "disruption"}
    assert frame["open_ended"].sum() == 2
    assert set(frame.loc[frame["open_ended"], "last_seen"]) == {ONGOING_UNTIL}
    assert frame["first_seen"].min() >= dt.date(2026, 6, 1)
    assert frame["last_seen"].max() <= dt.date(2026, 7, 30)


def test_evidence_rows_fixture_makes_samples() -> None:
    result = read(FIXTURES / "evidence_rows.csv", "evidence")
    assert result.kind == "evidence" and result.errors == []
    frame = result.frame
    assert len(frame) == 42 and result.duplicates == 0
    per_day = frame.groupby(["country", "day"]).size()
    assert set(frame["country"]) == {"OM", "KW"} and len(per_day) == 6
    assert (per_day >= MIN_EVIDENCE_ROWS).all()
    generated = frame["source_ref"].str.startswith("row:")
    assert 0 < generated.sum() < len(frame)
    assert frame["anomalous"].any() and not frame["anomalous"].all()


def test_ooni_aggregate_fixture() -> None:
    result = read(FIXTURES / "ooni_aggregate.csv", "evidence")
    assert result.kind == "ooni" and result.errors == [] and result.empty == 0
    frame = result.frame
    assert set(frame["country"]) == {"OM", "LY", "YE", "KW"}
    assert frame["day"].nunique() == 5
    assert (frame["anomalous_measurements"] <= frame["measurements"]).all()


def test_samples_fixture_is_consistent() -> None:
    result = read(FIXTURES / "samples_features.csv", "samples")
    assert result.errors == []
    frame = result.frame
    assert len(frame) == 20 and set(frame["country"]) == {"YE", "LY"}
    weekday = frame["day"].map(lambda d: d.weekday())
    assert (frame["day_of_week"] == weekday).all()
    assert (frame["month"] == frame["day"].map(lambda d: d.month)).all()
    assert (frame["is_weekend"] == (weekday >= 5).astype(float)).all()
    assert (frame["high_evidence"] == (frame["measurement_count"] >= 50).astype(float)).all()
    assert set(frame["given_label"]) == {0, 1}


def test_samples_wrong_column_fixture() -> None:
    result = read(FIXTURES / "samples_wrong_column.csv", "samples")
    assert result.described() == [
        "line 1, column 'anomaly_rte': unknown column 'anomaly_rte' (did you mean 'anomaly_rate'?)",
        "line 1: missing required column 'anomaly_rate' (accepted names: anomaly_rate)",
    ]


def test_countries_override_fixture() -> None:
    result = read(FIXTURES / "countries_override.csv", "countries")
    assert result.errors == []
    assert result.frame[["country", "cluster_action", "cluster"]].values.tolist() == [
        ["OM", "set", "Gulf"],
        ["KW", "set", "Gulf"],
        ["TN", "clear", None],
    ]
    assert result.frame["neighbours"].tolist() == [["AE", "SA", "YE"], None, None]


def test_regional_incidents_fixture() -> None:
    """Regional events on one day stay distinct; `Unknown` ends follow --unknown-end; extra
    descriptive columns are ignored with a notice (refused only under --strict-columns)."""
    path = FIXTURES / "incidents_regional.csv"
    result = read(path, "incidents")
    assert result.errors == [] and result.duplicates == 0
    assert result.column_map.unknown == ["Affected users"]  # Description is a known extra
    frame = result.frame.set_index("line")
    assert frame["import_key"].nunique() == 4
    assert frame.loc[2, "source"] == "Access Now / Amhara"
    assert frame.loc[3, "source"] == "Access Now / Oromia"
    assert frame.loc[4, "last_seen"] == frame.loc[4, "first_seen"]  # single-day by default
    assert not frame.loc[4, "open_ended"]
    open_ended = read(path, "incidents", context(unknown_end="open-ended")).frame
    assert open_ended.set_index("line").loc[4, "open_ended"]
    rejected = read(path, "incidents", context(unknown_end="reject"))
    assert rejected.lines == {4}
    strict = read(path, "incidents", context(strict_columns=True))
    assert [e.column for e in strict.errors] == ["Affected users"]
