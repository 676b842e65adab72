"""Shared fixtures: isolated config, both database backends, migrated databases, a tiny world.

Database tests take the ``db_url`` fixture, which runs every test on SQLite and on PostgreSQL
(127.0.0.1:5432, user postgres, trust auth). PostgreSQL tests skip when the server is missing,
except in CI (``CI=true``) where they fail loudly.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelbench.config import Settings

PG_ADMIN_URL = os.environ.get(
    "LABELBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_counter = itertools.count()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the host's labelbench config and env vars out of every test."""
    for key in list(os.environ):
        if key.startswith("LABELBENCH_") and key != "LABELBENCH_TEST_PG_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))  # no remembered analyst
    monkeypatch.chdir(tmp_path)


def _pg_admin_dsn() -> str:
    return PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {exc}")
        return False


@pytest.fixture
def pg_url(pg_available: bool, worker_id: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    if not pg_available:
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432 (set CI=true to make this fatal)")
    name = f"lbt_{worker_id}_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'labelbench-test.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, models_dir=tmp_path / "models")


@pytest.fixture
def workspace(settings: Settings):  # type: ignore[no-untyped-def]
    """A migrated database with the country table loaded."""
    from labelbench.db import migrate
    from labelbench.db.engine import make_engine
    from labelbench.services.reference import sync_countries
    from labelbench.services.workspace import Workspace

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    ws = Workspace(settings, engine)
    with ws.transaction() as session:
        sync_countries(session, settings)
    yield ws
    ws.close()


@pytest.fixture
def tiny_world_ws(workspace):  # type: ignore[no-untyped-def]
    """A migrated database holding the tiny world, with features built."""
    from factories import load_world, tiny_world

    from labelbench.services.features import build_features

    load_world(workspace, tiny_world())
    build_features(workspace)
    return workspace
