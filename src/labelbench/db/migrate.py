"""Alembic glue: the config is built in code so migrations run from an installed package."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine

from labelbench.errors import InputError, SchemaError


def alembic_config(engine: Engine | None = None, url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged ``migrations`` (``labelbench.migrations``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("labelbench.migrations")))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest revision this version of labelbench ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _revision_errors(revision: str) -> Iterator[None]:
    """Alembic's CommandError (an unknown or ambiguous revision) is bad input (exit 7)."""
    try:
        yield
    except CommandError as exc:
        raise InputError(
            f"cannot migrate to {revision!r}: {exc} (revisions: `labelbench db current`; "
            f"newest: {head_revision()})".splitlines()[0]
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database forward."""
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        with _revision_errors(revision):
            command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to ``revision``."""
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        with _revision_errors(revision):
            command.downgrade(cfg, revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or at another revision."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaError(
            "the database has no labelbench schema; run `labelbench db upgrade` "
            "(or `labelbench demo` for the demo world)"
        )
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        raise SchemaError(
            f"the database is at revision {current}, which this labelbench does not know; "
            "upgrade labelbench"
        )
    raise SchemaError(
        f"the database schema is out of date (at {current}, need {head}); "
        "run `labelbench db upgrade`"
    )
