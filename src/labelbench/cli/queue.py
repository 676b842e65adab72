"""`labelbench queue`: build and inspect the active-learning queue."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from labelbench.cli.state import bad_option, state
from labelbench.domain.scope import SCOPE_HELP

app = typer.Typer(help="Build and inspect the active-learning queue.", no_args_is_help=True)


def split_countries(value: str | None) -> list[str] | None:
    """`OM,LY, ye` -> ['OM', 'LY', 'YE'] (None when not given)."""
    codes = [c.strip().upper() for c in (value or "").split(",") if c.strip()]
    return codes or None


def known_strategy(value: str | None) -> str | None:
    """Refuse an unknown strategy name as a bad flag value (exit 3) before any work starts."""
    if value is None:
        return None
    from labelbench.ml.strategies import STRATEGIES

    if value not in STRATEGIES:
        raise bad_option(
            "--strategy", f"unknown strategy {value!r}; choose one of: {', '.join(STRATEGIES)}"
        )
    return value


@app.command("build")
def build(
    ctx: typer.Context,
    countries: Annotated[
        str | None,
        typer.Option(help=SCOPE_HELP),
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            callback=known_strategy,
            help="hybrid (default), uncertainty, margin, entropy, committee, "
            "likely_positive, label_errors, seed or random; see `queue strategies`.",
        ),
    ] = None,
    size: Annotated[int | None, typer.Option(min=1, help="Items in the batch.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for ties and exploration.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Score the unlabelled days of the target countries and queue the best batch.

    Earlier unclaimed items of the same countries are withdrawn, so the app always serves the
    newest ranking. Each item records why it was picked (strategy, score, rank, quota).
    """
    from labelbench.services.queue import build_queue
    from labelbench.services.registry import current_user

    st = state(ctx)
    with st.workspace() as ws:
        report = build_queue(
            ws,
            actor=current_user(),
            countries=split_countries(countries),
            strategy=strategy,
            size=size,
            seed=seed,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    st.out.print(
        f"queue build {report.build_id}: {report.queued} items ({report.second_opinions} second "
        f"opinions) from a pool of {report.pool:,} in {len(report.countries)} countries, "
        f"strategy {report.strategy}, model {report.model_run_id or 'none (evidence heuristics)'}; "
        f"{report.withdrawn} older items withdrawn"
    )
    if report.confirmations:
        st.out.print(
            f"  {report.confirmations} item(s) confirm incident days; the rest seek new positives"
        )
    for country, left in report.exhaustive.items():
        st.out.print(f"  {country}: exhaustive review: {left} days left (all queued)")
    for country, reason in report.exhausted.items():
        st.out.print(f"  {country}: exhausted ({reason})")


@app.command("show")
def show(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Include finished items.")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Rows to print.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:
    """List queued items in serving order, with why each was picked.

    A claim whose lease has run out is listed as pending (anyone may take the item), naming
    the analyst whose claim expired.
    """
    from rich.table import Table

    st = state(ctx)
    with st.workspace() as ws:  # the schema check first: its error needs none of the tables
        from labelbench.services.queue_view import queue_rows

        rows = queue_rows(ws, include_done=show_all)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in rows], default=str))
        return
    if not rows:
        st.out.print("the queue is empty: run `labelbench queue build`")
        return
    table = Table("item", "rank", "country", "day", "status", "p", "why", title="queue")
    for row in rows[:limit]:
        p = "-" if row.expected_p is None else f"{row.expected_p:.2f}"
        table.add_row(
            str(row.item_id),
            str(row.rank),
            row.country,
            str(row.day),
            row.display_status,
            p,
            row.reason,
        )
    st.out.print(table)
    if len(rows) > limit:
        st.out.print(f"... {len(rows) - limit} more (use --limit)")


@app.command("strategies")
def strategies(ctx: typer.Context) -> None:
    """List the query strategies with one line each."""
    from labelbench.ml.strategies import STRATEGIES

    st = state(ctx)
    for name, s in STRATEGIES.items():
        st.out.print(f"[bold]{name:16}[/bold] {s.description}")
