"""`labelbench db`: schema migrations (Alembic, shipped inside the package)."""

from __future__ import annotations

from typing import Annotated

import typer

from labelbench.cli.state import state

app = typer.Typer(help="Create or migrate the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Migrate to the newest schema (creates it when empty) and load the country table."""
    from labelbench.db import migrate
    from labelbench.db.engine import check_connection, make_engine
    from labelbench.services.reference import sync_countries
    from labelbench.services.workspace import Workspace

    st = state(ctx)
    settings = st.settings()
    engine = make_engine(settings.database_url)
    check_connection(engine)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine, revision)
    after = migrate.current_revision(engine)
    if after == migrate.head_revision():
        with Workspace(settings, engine).transaction() as session:
            sync_countries(session, settings)
    engine.dispose()
    st.out.print(f"{settings.safe_database_url}: {before or 'empty'} -> {after}")


@app.command("current")
def current(ctx: typer.Context) -> None:
    """Print the database's schema revision and whether it is up to date (exit 5 if not)."""
    from labelbench.db import migrate
    from labelbench.db.engine import check_connection, make_engine
    from labelbench.errors import SchemaError

    st = state(ctx)
    settings = st.settings()
    engine = make_engine(settings.database_url)
    check_connection(engine)
    rev, head = migrate.current_revision(engine), migrate.head_revision()
    engine.dispose()
    st.out.print(f"{rev or 'empty'} (head {head})")
    if rev != head:
        raise SchemaError("schema is not at head; run `labelbench db upgrade`")


@app.command("downgrade")
def downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision (`base` drops everything).")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm dropping data.")] = False,
) -> None:
    """Migrate the schema back (may drop tables and data; needs --yes)."""
    from labelbench.db import migrate
    from labelbench.db.engine import check_connection, make_engine
    from labelbench.errors import InputError

    if not yes:
        raise InputError("downgrading may drop data; repeat with --yes")
    st = state(ctx)
    settings = st.settings()
    engine = make_engine(settings.database_url)
    check_connection(engine)
    migrate.downgrade(engine, revision)
    st.out.print(
        f"{settings.safe_database_url}: now at {migrate.current_revision(engine) or 'empty'}"
    )
    engine.dispose()
