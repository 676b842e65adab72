"""Planner statistics after bulk writes.

A query planner without statistics guesses table sizes, and its guesses after a bulk load are
wrong by orders of magnitude: on PostgreSQL a freshly imported label log of 50,000 rows was
planned as 13,000 rows and read with a sequential scan for every served item (20 ms instead of
0.4 ms). Autovacuum catches up eventually, when it is enabled at all; the commands that load
many rows (`demo`, `import`) therefore refresh the statistics of what they wrote themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from labelbench.db import models as _models  # noqa: F401  (registers the tables)
from labelbench.db.base import Base


def known_tables() -> frozenset[str]:
    """Every table the schema defines (names are checked against this before reaching SQL)."""
    return frozenset(Base.metadata.tables)


def refresh_statistics(engine: Engine, tables: Iterable[str]) -> list[str]:
    """Run ANALYZE on ``tables`` (its own short transaction); returns the tables analysed."""
    names = sorted(set(tables))
    known = known_tables()
    unknown = [t for t in names if t not in known]
    if unknown:
        raise ValueError(f"not tables of this schema: {', '.join(unknown)}")
    if not names:
        return []
    with engine.begin() as conn:
        for name in names:  # ANALYZE takes no bind parameters; names come from the schema
            conn.exec_driver_sql(f"ANALYZE {name}")
    return names
