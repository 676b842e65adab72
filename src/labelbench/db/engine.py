"""Engine and session factory for any SQLAlchemy URL; SQLite made safe for several processes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from labelbench.errors import DatabaseError

#: How long SQLite waits for another writer before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers work while an analyst writes.
    dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets per-connection pragmas, PostgreSQL defaults to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emitting it ourselves lets writers
        # take the write lock up front with BEGIN IMMEDIATE.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # No server-side prepared statements: psycopg prepares a query after five runs, and the
    # generic plan PostgreSQL then caches for an import's batched key lookups ignores the keys
    # (seconds a batch instead of milliseconds). Also keeps transaction-mode poolers working.
    kwargs.setdefault("connect_args", {"prepare_threshold": None})
    return create_engine(parsed, **kwargs)


#: Set while a read-only transaction is being opened on this thread/task (see `read_only`).
_READ_ONLY: ContextVar[bool] = ContextVar("labelbench_sqlite_read_only", default=False)


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads, then writes,
    # fails with "database is locked" (no busy wait) when another writer committed in between.
    conn.exec_driver_sql("BEGIN" if _READ_ONLY.get() else "BEGIN IMMEDIATE")


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Open transactions inside this block as plain (deferred) BEGIN on SQLite."""
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (the TUI shows them after the write)."""
    return sessionmaker(engine, expire_on_commit=False)


def check_connection(engine: Engine) -> None:
    """Connect once, turning driver errors into one clear, password-free line."""
    try:
        with engine.connect():
            pass
    except (OperationalError, DBAPIError) as exc:
        raise DatabaseError(
            f"cannot connect to {engine.url.render_as_string(hide_password=True)}: "
            f"{first_line(exc)}"
        ) from None


def first_line(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's background links."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
