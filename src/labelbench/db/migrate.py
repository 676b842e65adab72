"""Alembic glue: the config is built in code so migrations run from an installed package.

Only the commands that migrate import Alembic (about 0.1 s of start-up): the schema check every
command makes reads the ``alembic_version`` table with a plain query and compares it with
:data:`HEAD_REVISION` (``tests/db/test_schema.py`` proves that constant is Alembic's real head).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from labelbench.db.engine import read_only
from labelbench.errors import InputError, SchemaError

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest revision in ``migrations/versions``: bump it with every new migration (a test
#: fails until it matches).
HEAD_REVISION = "0004"
#: Alembic's bookkeeping table (its default name; ``migrations/env.py`` keeps the default).
VERSION_TABLE = "alembic_version"


def alembic_config(engine: Engine | None = None, url: str | None = None) -> Config:
    """An Alembic config pointing at the packaged ``migrations`` (``labelbench.migrations``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(files("labelbench.migrations")))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest revision this version of labelbench ships, as Alembic reads the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this version of labelbench ships."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(bind: Engine | Connection) -> str | None:
    """The database's revision (None for an empty database), read without Alembic.

    On an engine this opens its own read-only transaction (on SQLite it takes no write lock);
    on a connection it reads inside the caller's transaction.
    """
    if isinstance(bind, Engine):
        with read_only(), bind.connect() as conn:
            return current_revision(conn)
    if not inspect(bind).has_table(VERSION_TABLE):
        return None
    revisions = bind.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(revisions) > 1:  # labelbench's history is linear (one head): never written by it
        raise SchemaError(
            f"the database records several schema revisions ({', '.join(sorted(revisions))}); "
            "labelbench expects one"
        )
    return str(revisions[0]) if revisions else None


@contextmanager
def _revision_errors(revision: str) -> Iterator[None]:
    """Alembic's CommandError (an unknown or ambiguous revision) is bad input (exit 7)."""
    from alembic.util.exc import CommandError

    try:
        yield
    except CommandError as exc:
        raise InputError(
            f"cannot migrate to {revision!r}: {exc} (revisions: `labelbench db current`; "
            f"newest: {head_revision()})".splitlines()[0]
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database forward."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        with _revision_errors(revision):
            command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to ``revision``."""
    from alembic import command

    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        with _revision_errors(revision):
            command.downgrade(cfg, revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or at another revision."""
    current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    if current is None:
        raise SchemaError(
            "the database has no labelbench schema; run `labelbench db upgrade` "
            "(or `labelbench demo` for the demo world)"
        )
    if current not in known_revisions():
        raise SchemaError(
            f"the database is at revision {current}, which this labelbench does not know; "
            "upgrade labelbench"
        )
    raise SchemaError(
        f"the database schema is out of date (at {current}, need {HEAD_REVISION}); "
        "run `labelbench db upgrade`"
    )
