"""pytest-alembic's standard checks, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_alembic.tests import (  # noqa: F401  (collected as tests here)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine

from labelbench.db.engine import make_engine
from labelbench.db.migrate import alembic_config as make_alembic_config


@pytest.fixture
def alembic_config():  # type: ignore[no-untyped-def]
    return make_alembic_config()


@pytest.fixture
def alembic_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()
