"""Bulk writers leave planner statistics behind them, on both backends.

Without them PostgreSQL planned a freshly loaded 50,000-event label log as 13,000 rows and read
it with a sequential scan for every served item; autovacuum may be late or switched off.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from labelbench.db.statistics import refresh_statistics
from labelbench.services.imports import ImportOptions, import_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


def analysed_rows(engine: Engine, table: str) -> int | None:
    """Rows the planner believes ``table`` holds; None when it was never analysed."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            has_stats = conn.execute(
                text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            ).scalar_one()
            if not has_stats:
                return None
            stat = conn.execute(
                text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t LIMIT 1"), {"t": table}
            ).scalar()
            return None if stat is None else int(str(stat).split()[0])
        tuples = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}
        ).scalar_one()
        return None if tuples < 0 else int(tuples)  # -1: never analysed (PostgreSQL 14+)


def test_a_fresh_table_has_no_statistics_until_refreshed(workspace) -> None:  # type: ignore[no-untyped-def]
    assert analysed_rows(workspace.engine, "countries") is None
    assert refresh_statistics(workspace.engine, ["countries"]) == ["countries"]
    assert (analysed_rows(workspace.engine, "countries") or 0) > 100


def test_an_import_refreshes_the_statistics_of_what_it_wrote(workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "evidence_rows.csv"
    path.write_bytes((FIXTURES / "evidence_rows.csv").read_bytes())
    report = import_file(workspace, "evidence", path, ImportOptions(actor="t"))
    assert report.inserted > 0 and report.features is not None
    assert analysed_rows(workspace.engine, "evidence") == report.inserted
    assert analysed_rows(workspace.engine, "samples") == report.features["inserted"]


def test_only_schema_tables_reach_sql(workspace) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="not tables of this schema"):
        refresh_statistics(workspace.engine, ["labels; DROP TABLE labels"])
