"""The handle every service takes: settings, an engine and one-transaction-per-action sessions."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from labelbench.config import Settings
from labelbench.db import migrate
from labelbench.db.engine import (
    check_connection,
    first_line,
    make_engine,
    read_only,
    session_factory,
)
from labelbench.errors import DatabaseError


@dataclass
class Workspace:
    """Settings plus a live database; create with :func:`open_workspace`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.engine)

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """One user action = one transaction: committed on success, rolled back on any error.

        On SQLite a writing transaction takes the write lock at BEGIN (so concurrent analysts
        wait for each other instead of failing); ``readonly`` ones do not block writers.
        """
        try:
            with self.sessions.begin() as session:
                if readonly:
                    with read_only():
                        session.connection()
                else:
                    session.connection()
                yield session
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise DatabaseError(
                    f"database error on {self.settings.safe_database_url}: {first_line(exc)}"
                ) from exc
            raise

    def close(self) -> None:
        self.engine.dispose()


def open_workspace(settings: Settings, *, require_schema: bool = True) -> Workspace:
    """Connect (one clear error if that fails) and, by default, insist on the current schema."""
    engine = make_engine(settings.database_url)
    check_connection(engine)
    if require_schema:
        migrate.require_current(engine)
    return Workspace(settings, engine)
