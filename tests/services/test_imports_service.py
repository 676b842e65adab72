"""`labelbench import` through the database, on SQLite and PostgreSQL.

Real-world-shaped fixtures (written by hand for these tests) live in ``tests/fixtures/imports``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from labelbench.db import queries
from labelbench.db.models import (
    CountryNeighbour,
    CountryOverride,
    Evidence,
    ImportRun,
    Incident,
    Sample,
)
from labelbench.domain.constants import FEATURES
from labelbench.services.features import build_features
from labelbench.services.imports import ImportOptions, ImportRejectedError, import_file
from labelbench.services.labels import training_frame
from labelbench.services.reference import effective_clusters, sync_countries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
UNTIL = dt.date(2026, 7, 30)


def counts(ws) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows in every table an import may write."""
    with ws.transaction(readonly=True) as session:
        return {
            m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Evidence, Incident, Sample, CountryOverride, ImportRun, CountryNeighbour)
        }


def opts(**kw: object) -> ImportOptions:
    return ImportOptions(actor="tester", ongoing_until=UNTIL, **kw)  # type: ignore[arg-type]


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    target.write_bytes((FIXTURES / name).read_bytes())
    return target


# --- incidents ----------------------------------------------------------------------------------


def test_realworld_incidents_are_rejected_whole_then_imported_with_skip(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = copy_fixture("incidents_realworld.csv", tmp_path)
    before = counts(workspace)
    with pytest.raises(ImportRejectedError) as caught:
        import_file(workspace, "incidents", path, opts())
    message = "\n".join([str(caught.value), *caught.value.details])
    assert "nothing was written" in message and "Atlantis" in message
    assert all(e.line > 1 for e in caught.value.errors)
    assert counts(workspace) == before
    assert not list(tmp_path.glob("*.rejects.csv"))

    report = import_file(workspace, "incidents", path, opts(skip_bad_rows=True))
    assert report.rejected_rows == 1 and report.duplicates >= 1 and report.preamble_lines == 1
    assert report.inserted > 0 and report.updated == report.unchanged == 0
    rejects = pd.read_csv(report.rejects_file)
    assert len(rejects) == 1 and "Atlantis" in rejects.to_csv()
    assert rejects["line"].iloc[0] == caught.value.errors[0].line
    with workspace.transaction(readonly=True) as session:
        rows = session.scalars(select(Incident)).all()
    assert len(rows) == report.inserted
    open_ended = [r for r in rows if r.open_ended]
    assert len(open_ended) >= 2 and all(r.last_seen == UNTIL for r in open_ended)
    assert {r.incident_type for r in rows} <= {"censorship", "mixed", "disruption"}
    assert all(r.import_key for r in rows)

    again = import_file(workspace, "incidents", path, opts(skip_bad_rows=True))
    assert again.inserted == again.updated == 0 and again.unchanged == report.inserted
    with workspace.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == report.inserted
        runs = session.scalars(select(ImportRun).order_by(ImportRun.id)).all()
    assert [r.kind for r in runs] == ["incidents", "incidents"]
    assert runs[0].file_sha256 == runs[1].file_sha256 and runs[0].actor == "tester"


def test_clean_incidents_label_samples_and_open_end_follows_the_rule(
    tiny_world_ws, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ws = tiny_world_ws
    path = tmp_path / "om.csv"
    path.write_text(
        "country,start,end,type,source,link\n"
        "Oman,6/2/2026,6/4/2026,Social media block,Access Now,https://a.test/1\n"
        "Kuwait,3 June 2026,Ongoing,Shutdown,,\n"
        "Oman,2026-06-20,,Power outage,IODA,\n",
        encoding="utf-8",
    )
    with ws.transaction(readonly=True) as session:
        last_day = session.scalar(select(func.max(Evidence.day)))
    report = import_file(ws, "incidents", path, ImportOptions(actor="t"))
    assert report.inserted == 3 and report.ongoing_until == last_day.isoformat()
    assert report.features is not None and report.features["updated"] > 0
    assert {"OM", "KW"} <= set(report.countries)
    with ws.transaction(readonly=True) as session:
        kw = session.scalars(
            select(Incident).where(Incident.country == "KW", Incident.open_ended.is_(True))
        ).one()
        assert kw.last_seen == last_day and kw.incident_type == "censorship"
        om_days = {
            s.day: s.incident_label
            for s in session.scalars(select(Sample).where(Sample.country == "OM"))
        }
    for day in (dt.date(2026, 6, 2), dt.date(2026, 6, 3), dt.date(2026, 6, 4)):
        if day in om_days:
            assert om_days[day] == 1
    # The scoped rebuild left the table exactly as a full rebuild would.
    full = build_features(ws)
    assert full.inserted == full.updated == full.removed == 0


def test_ambiguous_numeric_dates_follow_date_order(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dmy.csv"
    path.write_text(
        "country,start,end,type\nOM,02/06/2026,04/06/2026,censorship\nLY,25/06/2026,26/06/2026,mixed\n",
        encoding="utf-8",
    )
    report = import_file(workspace, "incidents", path, opts())
    assert report.date_order == "dmy"
    with workspace.transaction(readonly=True) as session:
        om = session.scalars(select(Incident).where(Incident.country == "OM")).one()
    assert om.first_seen == dt.date(2026, 6, 2) and om.last_seen == dt.date(2026, 6, 4)


# --- evidence -----------------------------------------------------------------------------------


def test_evidence_rows_import_builds_samples_and_reimport_is_a_no_op(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = copy_fixture("evidence_rows.csv", tmp_path)
    report = import_file(workspace, "evidence", path, opts())
    assert report.kind == "evidence" and report.inserted == report.rows - report.duplicates
    assert report.features is not None and report.features["inserted"] > 0
    with workspace.transaction(readonly=True) as session:
        samples = queries.samples_frame(session)
    assert set(samples["country"]) <= {"OM", "KW"} and len(samples) == report.features["inserted"]
    before = counts(workspace)
    again = import_file(workspace, "evidence", path, opts())
    assert again.inserted == again.updated == 0 and again.unchanged == report.inserted
    assert again.features is None or again.features["inserted"] == again.features["updated"] == 0
    after = counts(workspace)
    assert {k: v for k, v in after.items() if k != "import_runs"} == {
        k: v for k, v in before.items() if k != "import_runs"
    }


def test_parquet_evidence_imports_like_its_csv(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same rows as Parquet (typed columns, real timestamps) land as the CSV's would."""
    csv_path = copy_fixture("evidence_rows.csv", tmp_path)
    frame = pd.read_csv(csv_path, comment="#").drop_duplicates()
    frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True, format="ISO8601")
    parquet = tmp_path / "evidence_rows.parquet"
    frame.to_parquet(parquet, index=False)
    first = import_file(workspace, "evidence", parquet, opts())
    assert first.problems == 0 and first.inserted == len(frame) > 0
    again = import_file(workspace, "evidence", csv_path, opts())
    assert again.inserted == again.updated == 0 and again.unchanged == first.inserted


def test_corrected_evidence_updates_in_place_and_flags_fingerprints(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ev.csv"
    lines = ["source,source_ref,observed_at,country,anomalous"]
    lines += [f"ooni,r{i},2026-06-0{1 + i // 6}T10:0{i % 6}:00Z,OM,{i % 2}" for i in range(12)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = import_file(workspace, "evidence", path, opts())
    assert first.inserted == 12 and first.features is not None and first.features["inserted"] == 2
    with workspace.transaction(readonly=True) as session:
        fps = dict(session.execute(select(Sample.day, Sample.fingerprint)).all())
    lines[1] = lines[1].replace(",0", ",1")  # r0 on 2026-06-01 becomes anomalous
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = import_file(workspace, "evidence", path, opts())
    assert (second.inserted, second.updated, second.unchanged) == (0, 1, 11)
    assert second.features is not None and second.features["fingerprint_changed"] == 1
    with workspace.transaction(readonly=True) as session:
        now = dict(session.execute(select(Sample.day, Sample.fingerprint)).all())
    assert now[dt.date(2026, 6, 1)] != fps[dt.date(2026, 6, 1)]
    assert now[dt.date(2026, 6, 2)] == fps[dt.date(2026, 6, 2)]


def test_ooni_aggregates_become_weighted_evidence(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = copy_fixture("ooni_aggregate.csv", tmp_path)
    report = import_file(workspace, "evidence", path, opts())
    assert report.kind == "ooni" and report.inserted > 0
    raw = pd.read_csv(path, comment="#")
    with workspace.transaction(readonly=True) as session:
        ev = queries.evidence_frame(session)
        samples = queries.samples_frame(session)
    assert ev["measurements"].notna().all() and (ev["source"] == "ooni").all()
    day_totals = raw.groupby(["probe_cc", "measurement_start_day"])["measurement_count"].sum()
    anomalous = (
        raw.assign(a=raw["anomaly_count"] + raw["confirmed_count"])
        .groupby(["probe_cc", "measurement_start_day"])["a"]
        .sum()
    )
    row = samples.iloc[0]
    key = (row["country"], row["day"].isoformat())
    assert row["measurement_count"] == day_totals[key]
    assert row["anomaly_rate"] == pytest.approx(anomalous[key] / day_totals[key])


# --- samples ------------------------------------------------------------------------------------


def test_feature_table_is_trained_on_kept_by_builds_and_reimport_is_idempotent(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = copy_fixture("samples_features.csv", tmp_path)
    report = import_file(workspace, "samples", path, opts())
    assert report.inserted == report.rows - report.duplicates > 0 and report.features is None
    raw = pd.read_csv(path, comment="#")
    with workspace.transaction(readonly=True) as session:
        frame = training_frame(session)
    assert len(frame) == report.inserted and (frame["origin"] == "import").all()
    assert frame["label"].notna().all()
    first = frame.sort_values(["country", "day"]).iloc[0]
    src = raw.sort_values(["country", "day"]).iloc[0]
    for feature in FEATURES:
        assert first[feature] == pytest.approx(float(src[feature]))
    built = build_features(workspace)  # no evidence at all: imported rows must survive
    assert built.removed == 0
    again = import_file(workspace, "samples", path, opts())
    assert again.inserted == again.updated == 0 and again.unchanged == report.inserted
    changed = raw.copy()
    changed.loc[0, "anomaly_rate"] = 0.99
    changed.to_csv(path, index=False)
    third = import_file(workspace, "samples", path, opts())
    assert third.updated == 1 and third.inserted == 0


def test_a_samples_export_imports_back_unchanged(tiny_world_ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from labelbench.services.export import export_samples

    path = tmp_path / "samples.csv"
    with tiny_world_ws.transaction(readonly=True) as session:
        before = training_frame(session).sort_values(["country", "day"]).reset_index(drop=True)
    assert export_samples(tiny_world_ws, path) == len(before)
    report = import_file(tiny_world_ws, "samples", path, opts())
    assert report.problems == 0 and report.inserted == 0 and report.updated == len(before)
    assert {"incident_label", "label_source", "cluster"} <= set(report.ignored_columns)
    with tiny_world_ws.transaction(readonly=True) as session:
        after = training_frame(session).sort_values(["country", "day"]).reset_index(drop=True)
    assert (after["origin"] == "import").all()
    pd.testing.assert_frame_equal(after[list(FEATURES)], before[list(FEATURES)], check_exact=False)
    assert after["label"].tolist() == before["label"].tolist()


def test_wrong_column_rejects_the_file_with_nothing_written(workspace) -> None:  # type: ignore[no-untyped-def]
    before = counts(workspace)
    with pytest.raises(ImportRejectedError) as caught:
        import_file(workspace, "samples", FIXTURES / "samples_wrong_column.csv", opts())
    message = "\n".join([str(caught.value), *caught.value.details])
    assert "anomaly_rte" in message and "anomaly_rate" in message
    assert counts(workspace) == before


# --- countries ----------------------------------------------------------------------------------


def test_country_overrides_survive_resync_and_drive_clusters(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = copy_fixture("countries_override.csv", tmp_path)
    report = import_file(workspace, "countries", path, opts())
    assert report.inserted >= 3
    with workspace.transaction() as session:
        clusters = effective_clusters(session, workspace.settings)
        assert {"OM", "KW"} <= set(clusters["Gulf"])
        assert "TN" not in {c for members in clusters.values() for c in members}
        assert queries.neighbours(session)["OM"] == frozenset({"AE", "SA", "YE"})
        sync_countries(session, workspace.settings)  # what db upgrade and demo do
        assert queries.neighbours(session)["OM"] == frozenset({"AE", "SA", "YE"})
        assert queries.country_clusters(session)["OM"] == "Gulf"
        assert queries.country_clusters(session)["TN"] is None
    again = import_file(workspace, "countries", path, opts())
    assert again.inserted == again.updated == 0 and again.unchanged == report.inserted


# --- streaming, atomicity, property -------------------------------------------------------------


def test_small_chunks_find_duplicates_and_conflicts_across_chunks(
    workspace, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "inc.csv"
    rows = [
        f"OM,2026-06-{d:02d},2026-06-{d:02d},censorship,src,https://x.test/{d}"
        for d in range(1, 21)
    ]
    rows.append(rows[0])  # exact duplicate, in a later chunk
    rows.append(rows[1].replace("2026-06-02,censorship", "2026-06-03,censorship"))  # conflict
    path.write_text(
        "country,start,end,type,source,link\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    with pytest.raises(ImportRejectedError) as caught:
        import_file(workspace, "incidents", path, opts(chunk_rows=100))
    assert [e.line for e in caught.value.errors] == [23]
    report = import_file(workspace, "incidents", path, opts(chunk_rows=100, skip_bad_rows=True))
    assert (report.inserted, report.duplicates, report.rejected_rows) == (20, 1, 1)


def test_a_failure_while_writing_leaves_nothing(
    workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import labelbench.services.imports as imports

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "rebuild", boom)
    before = counts(workspace)
    with pytest.raises(RuntimeError):
        import_file(workspace, "evidence", FIXTURES / "evidence_rows.csv", opts())
    assert counts(workspace) == before


VALID_ROWS = [
    ("Oman", "2026-06-01", "2026-06-03", "censorship"),
    ("LY", "6/5/2026", "6/9/2026", "Shutdown"),
    ("Yemen", "12 June 2026", "Ongoing", "mixed"),
    ("KWT", "2026-06-20", "", "Power outage"),
    ("Tunisia", "July 1, 2026", "July 2, 2026", "Social media block"),
]


def _corrupt(rows: list[list[str]], kind: str, row: int) -> tuple[list[list[str]], list[str]]:
    header = ["country", "start", "end", "type"]
    rows = [list(r) for r in rows]
    if kind == "country":
        rows[row][0] = "Xq9"
    elif kind == "start":
        rows[row][1] = "2026-13-45"
    elif kind == "end":
        rows[row][2] = "someday soon"
    elif kind == "type":
        rows[row][3] = "Qzx-9"
    elif kind == "end_before_start":
        rows[row][1], rows[row][2] = "2026-06-10", "2026-06-01"
    elif kind == "extra_field":
        rows[row].append("surplus")
    elif kind == "missing_field":
        rows[row] = rows[row][:2]
    elif kind == "drop_column":
        col = row % 3
        header.pop(col)
        rows = [r[:col] + r[col + 1 :] for r in rows]
    elif kind == "misspelt_header":
        header[row % 3] = header[row % 3] + "zz"
    return rows, header


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(
        ["country", "start", "end", "type", "end_before_start", "extra_field", "missing_field",
         "drop_column", "misspelt_header"]
    ),
    row=st.integers(0, len(VALID_ROWS) - 1),
    skip_bad=st.booleans(),
)  # fmt: skip
def test_any_corruption_is_rejected_with_nothing_written(
    workspace, tmp_path: Path, kind: str, row: int, skip_bad: bool
) -> None:  # type: ignore[no-untyped-def]
    rows, header = _corrupt([list(r) for r in VALID_ROWS], kind, row)
    path = tmp_path / f"corrupt-{kind}-{row}.csv"
    text = ",".join(header) + "\n" + "\n".join(",".join(f'"{c}"' for c in r) for r in rows)
    path.write_text(text + "\n", encoding="utf-8")
    before = counts(workspace)
    with pytest.raises(ImportRejectedError):
        import_file(workspace, "incidents", path, opts())
    assert counts(workspace) == before
    if skip_bad and kind not in ("drop_column", "misspelt_header"):
        # The same file with --skip-bad-rows takes exactly the other rows.
        report = import_file(workspace, "incidents", path, opts(skip_bad_rows=True))
        assert report.rejected_rows == 1 and report.rejects_file
        with workspace.transaction() as session:  # leave the database as the next example expects
            session.execute(Incident.__table__.delete())
            session.execute(ImportRun.__table__.delete())
        assert counts(workspace) == before
