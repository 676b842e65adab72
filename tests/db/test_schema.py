"""Schema behaviour that matters on both backends: UTC timestamps, constraints, the schema gate."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from labelbench.db import migrate
from labelbench.db.engine import make_engine
from labelbench.db.models import Incident, LabelBatch
from labelbench.errors import SchemaError


def test_timestamps_round_trip_as_aware_utc(workspace) -> None:  # type: ignore[no-untyped-def]
    plus5 = dt.timezone(dt.timedelta(hours=5))
    started = dt.datetime(2026, 3, 1, 17, 30, tzinfo=plus5)
    with workspace.transaction() as session:
        session.add(
            LabelBatch(analyst="ana", strategy="hybrid", started_at=started, countries=["OM"])
        )
    with workspace.transaction() as session:
        got = session.scalars(select(LabelBatch.started_at)).one()
    assert got.tzinfo is not None and got.utcoffset() == dt.timedelta(0)
    assert got == started
    assert got.hour == 12


def test_naive_timestamps_are_refused(workspace) -> None:  # type: ignore[no-untyped-def]
    with (
        pytest.raises(StatementError, match="naive datetime"),
        workspace.transaction() as session,
    ):
        session.add(LabelBatch(analyst="ana", strategy="x", started_at=dt.datetime(2026, 1, 1)))


def test_named_check_constraints_hold(workspace) -> None:  # type: ignore[no-untyped-def]
    with (
        pytest.raises(IntegrityError, match=r"(?i)ck_incidents_span|check constraint"),
        workspace.transaction() as session,
    ):
        session.add(
            Incident(
                country="OM",
                first_seen=dt.date(2026, 5, 2),
                last_seen=dt.date(2026, 5, 1),
                incident_type="censorship",
            )
        )


def test_foreign_keys_enforced(workspace) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError), workspace.transaction() as session:
        session.add(
            Incident(
                country="ZZ",
                first_seen=dt.date(2026, 5, 1),
                last_seen=dt.date(2026, 5, 1),
                incident_type="censorship",
            )
        )


def test_schema_gate_refuses_empty_and_outdated(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(SchemaError, match="db upgrade"):
        migrate.require_current(engine)
    migrate.upgrade(engine)
    migrate.require_current(engine)
    engine.dispose()


def test_head_constant_is_alembics_head() -> None:
    """The schema check compares with HEAD_REVISION so that it need not import Alembic: the
    constant must be the head of the shipped migrations (bump it with every new migration)."""
    assert migrate.head_revision() == migrate.HEAD_REVISION
    assert migrate.HEAD_REVISION in migrate.known_revisions()


def test_schema_gate_names_an_old_or_foreign_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.HEAD_REVISION
    migrate.downgrade(engine, "0003")
    assert migrate.current_revision(engine) == "0003"
    with pytest.raises(SchemaError, match=r"out of date \(at 0003, need .*db upgrade"):
        migrate.require_current(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(SchemaError, match="revision f00d, which this labelbench does not know"):
        migrate.require_current(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0003')"))
    with pytest.raises(SchemaError, match="several schema revisions"):
        migrate.require_current(engine)
    engine.dispose()


def test_empty_version_table_is_no_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    assert migrate.current_revision(engine) is None
    with pytest.raises(SchemaError, match="no labelbench schema"):
        migrate.require_current(engine)
    engine.dispose()


def test_every_iso_country_is_loaded(workspace) -> None:  # type: ignore[no-untyped-def]
    from labelbench.db import queries

    with workspace.transaction() as session:
        codes = queries.country_codes(session)
        nbrs = queries.neighbours(session)
        clusters = queries.country_clusters(session)
    assert len(codes) == 249
    assert {"IQ", "SA"} <= nbrs["KW"]
    assert "IR" not in nbrs["KW"]  # countryinfo lists a KW-IR border that does not exist
    assert clusters["OM"] == "MENA" and clusters["DE"] is None
