"""`labelbench report weekly|batch`: where analysts found positives, and what it bought.

Thin wrapper: the service loads, :mod:`labelbench.reports` computes and renders. Report bodies
go to stdout (or atomically, with the user's umask, to ``--out``); everything else goes to stderr
so the JSON and CSV forms can be piped.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from labelbench.cli.queue import split_countries
from labelbench.cli.state import CliState, bad_option, state
from labelbench.domain.scope import SCOPE_HELP
from labelbench.errors import InputError

app = typer.Typer(
    help="Reports for the lead: weekly per-country yield, one labelling batch.",
    no_args_is_help=True,
)


class WeeklyFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    csv = "csv"
    json = "json"


class BatchFormat(StrEnum):
    text = "text"
    md = "md"
    html = "html"
    json = "json"


def _emit(st: CliState, body: str, out: Path | None, renderable: object | None = None) -> None:
    from labelbench.services.files import write_atomically

    if out is not None:
        write_atomically(out, body)
        st.info(f"wrote {out}")
    elif renderable is not None:
        st.out.print(renderable)
    else:
        typer.echo(body, nl=False)


@app.command("weekly")
def weekly(
    ctx: typer.Context,
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47. Default: the current week to date (UTC)."),
    ] = None,
    last_week: Annotated[
        bool, typer.Option("--last-week", help="The last complete ISO week instead.")
    ] = False,
    countries: Annotated[str | None, typer.Option(help=SCOPE_HELP)] = None,
    fmt: Annotated[
        WeeklyFormat,
        typer.Option(
            "--format", help="text (Rich tables), md, html (one file, charts), csv, json."
        ),
    ] = WeeklyFormat.text,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to this file (atomically) instead of stdout."),
    ] = None,
    low_yield: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Recommend stopping below this yield over the last --window "
            "(default: queue.stop_min_yield, as the queue's stopping signal).",
        ),
    ] = None,
    window: Annotated[
        int | None,
        typer.Option(min=1, help="Labels in the recent-yield window (default: queue.stop_window)."),
    ] = None,
    min_pairs: Annotated[
        int, typer.Option(min=1, help="Double-labelled days a country needs for own agreement.")
    ] = 10,
) -> None:
    """Per country, for the current ISO week to date (or --week / --last-week) and cumulatively:
    new positives (days no incident marked), incident days confirmed and overturned, labels,
    yield with a 95% Wilson interval, what the model expected vs random sampling, progress to
    the new-positive target, analyst agreement, model movement from retrains that used the
    week's batches, what each of the week's batches was worth per labelled country (model value
    on the country's own unseen days, transfer, measurement precision; or the command to run
    when no retrain measured it yet), and plain-language recommendations for next week.
    Default scope: the priority countries.
    """
    from labelbench.reports.isoweek import resolve_week

    st = state(ctx)
    if week and last_week:
        raise bad_option("--last-week", "give --week or --last-week, not both")
    try:  # a bad --week fails (exit 3) before the database or pandas are touched
        iso = resolve_week(week, last_week=last_week)
    except InputError as exc:
        raise bad_option("--week", str(exc)) from None
    from labelbench.reports.weekly import WeeklyOptions
    from labelbench.reports.weekly_render import render, rich_report
    from labelbench.services.weekly import weekly_report

    queue = st.settings().queue
    options = WeeklyOptions(
        low_yield=queue.stop_min_yield if low_yield is None else low_yield,
        window=queue.stop_window if window is None else window,
        min_pairs=min_pairs,
    )
    with st.workspace() as ws:
        report = weekly_report(ws, week=iso, countries=split_countries(countries), options=options)
    if fmt is WeeklyFormat.text and out is None:
        _emit(st, "", None, rich_report(report))
    elif fmt is WeeklyFormat.csv:
        from labelbench.domain.spreadsheet import neutralise_csv_text

        _emit(st, neutralise_csv_text(render(report, fmt.value)), out)  # safe in a spreadsheet
    else:
        _emit(st, render(report, fmt.value), out)


@app.command("batch")
def batch(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="Labelling batch id (see `batches list`).")],
    fmt: Annotated[
        BatchFormat, typer.Option("--format", help="text, md, html or json.")
    ] = BatchFormat.text,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to this file (atomically) instead of stdout."),
    ] = None,
) -> None:
    """One labelling batch: who, when, which countries and strategy, new positives, incident
    days confirmed and overturned, decisions by verdict and country, yield with its interval,
    time per label, expected vs random, and what the retrains that included it measured
    (leave-one-batch-out attribution): per labelled country, the model's F1 on the country's own
    unseen days with vs without the batch, transfer to the other countries and how precisely the
    country's F1 can now be measured. Before any retrain measured the batch it says so and names
    the command to run.
    """
    from labelbench.reports.batch import batch_sections, render_batch
    from labelbench.reports.render import rich_sections
    from labelbench.services.weekly import batch_report

    st = state(ctx)
    with st.workspace() as ws:
        report = batch_report(ws, batch_id)
    if fmt is BatchFormat.text and out is None:
        _emit(st, "", None, rich_sections(batch_sections(report)))
    else:
        _emit(st, render_batch(report, fmt.value), out)
