"""`labelbench retrain`, `labelbench models ...` and `labelbench batches ...`."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from labelbench.cli.queue import split_countries
from labelbench.cli.state import state
from labelbench.domain.scope import SCOPE_HELP


class CompareFormat(StrEnum):
    text = "text"
    md = "md"
    json = "json"


models_app = typer.Typer(
    help="The model registry: list, show, compare, promote, rollback.", no_args_is_help=True
)
batches_app = typer.Typer(help="Labelling batches: list them, withdraw one.", no_args_is_help=True)


def retrain(
    ctx: typer.Context,
    pipeline: Annotated[
        str | None, typer.Option(help="`base` (v3.3 production recipe) or `stacked` (v3.4).")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(help="`exact` (GradientBoosting) or `fast` (histogram; default)."),
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Parallel LOCO folds (-1: all cores).")] = None,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(help="Spread folds over a Dask cluster, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 9 when the promotion gates fail.")
    ] = False,
    no_promote: Annotated[
        bool, typer.Option("--no-promote", help="Evaluate and save, but never promote.")
    ] = False,
    batches: Annotated[
        int, typer.Option(min=0, help="Attribute at most this many recent batches (0: skip).")
    ] = 5,
    mlflow_tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="Also log the run to MLflow (file:..., sqlite:///..., http://...; needs the "
            "mlflow extra) [default: the mlflow_tracking_uri setting].",
        ),
    ] = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="Also evaluate these countries within-country (comma-separated, or `all`); "
            "the watch list, priority targets and labelled countries always are."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train a candidate on the current labels and measure it against production.

    Evaluates both recipes leave-one-country-out (transfer to unseen countries) and
    within-country (each country's own unseen days, its other labelled days in training) on the
    same folds and labels, prints the side-by-side tables (95% intervals over calendar weeks;
    small-n countries flagged), applies the promotion gates, attributes the change to each
    labelling batch since production (model, transfer and measurement value per labelled
    country), and promotes only if the gates pass. The very first model is promoted as the
    baseline regardless of the gates. Writes report.md and metrics.json next to the bundle, in
    the folder RUN_ID under the models directory (default ./models).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from labelbench.reports.retrain import rich_report
    from labelbench.services.registry import current_user
    from labelbench.services.retrain import retrain as run

    st = state(ctx)
    settings = st.settings()
    tasks: dict[str, object] = {}
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )  # fmt: skip
    with st.workspace() as ws, Progress(*columns, console=st.err, transient=as_json) as bar:

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        report = run(
            ws,
            actor=current_user(),
            pipeline=pipeline,
            engine=engine,
            jobs=jobs,
            dask_scheduler=dask_scheduler,
            promote=not no_promote,
            max_attributed_batches=batches,
            within_countries=[c.strip().upper() if c.strip().lower() != "all" else "all"
                              for c in within.split(",") if c.strip()] if within else None,
            progress=progress,
            mlflow_tracking_uri=mlflow_tracking_uri,
        )  # fmt: skip
    data = report.to_dict()
    if as_json:
        typer.echo(json.dumps(data))
    else:
        st.out.print(rich_report(data, settings.watch_list, settings.high_impact))
        verdict = (
            "[green]promoted to production[/]" if report.promoted else "[yellow]not promoted[/]"
        )
        if report.production is None and report.promoted and not report.gates_passed:
            verdict = "[green]promoted to production as the baseline[/] (gates do not apply)"
        st.out.print(f"run {report.run_id}: {verdict} ({report.promotion_reason})")
        if report.same_data_as_production:
            st.out.print(
                "nothing changed: same labels and features as production "
                f"({report.production_run_id}); label more before retraining"
            )
        st.out.print(f"report: {report.bundle_dir / 'report.md'}")
    if strict and not report.gates_passed and report.production is not None:
        from labelbench.errors import GatesFailedError

        raise GatesFailedError(f"promotion gates failed for run {report.run_id}")


@models_app.command("list")
def models_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Registry entries, newest first, with how each became production.

    The first model is promoted as the baseline whatever its gates say (there is no production
    model to compare it with); the table says so rather than showing a bare "fail".
    """
    from rich import box
    from rich.table import Table

    st = state(ctx)
    with st.workspace() as ws:  # the schema check first: its error needs none of the tables
        from labelbench.services.runs import BASELINE, run_table

        runs = run_table(ws)
    if as_json:
        typer.echo(json.dumps(runs))
        return
    table = Table("run", "created", "pipeline", "engine", "alias", "gates", "promoted as",
                  "LOCO median F1", box=box.SIMPLE_HEAD)  # fmt: skip
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    for r in runs:
        gates = {True: "pass", False: "fail", None: "-"}[r["gates_passed"]]
        f1 = "-" if r["loco_median_f1"] is None else f"{r['loco_median_f1']:.4f}"
        table.add_row(r["run_id"], r["created_at"][:16], r["pipeline"], r["engine"],
                      r["alias"] or "", gates, r["promoted_as"] or "-", f1)  # fmt: skip
    st.out.print(table)
    if any(r["promoted_as"] == BASELINE and r["gates_passed"] is False for r in runs):
        st.out.print(
            "baseline: promoted because there was no production model to compare with; its "
            "gates failed against the published targets, and later runs must beat it"
        )


@models_app.command("compare")
def models_compare(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="First run (A), e.g. production's.")],
    run_b: Annotated[str, typer.Argument(help="Second run (B), compared with A.")],
    countries: Annotated[str | None, typer.Option(help=SCOPE_HELP)] = None,
    fmt: Annotated[
        CompareFormat, typer.Option("--format", help="text (tables), md or json.")
    ] = CompareFormat.text,
) -> None:
    """Two runs side by side per country: support, precision, recall and F1 with 95% intervals,
    the F1 change, and each run's promotion gates. Reads both runs' stored retrain reports;
    nothing is retrained.
    """
    from labelbench.reports.compare import compare_sections, render_compare
    from labelbench.reports.render import rich_sections
    from labelbench.services.runs import compare_runs

    st = state(ctx)
    with st.workspace() as ws:
        report = compare_runs(ws, run_a, run_b, split_countries(countries))
    if fmt is CompareFormat.text:
        st.out.print(rich_sections(compare_sections(report)))
    else:
        typer.echo(render_compare(report, fmt.value), nl=False)


@models_app.command("show")
def models_show(
    ctx: typer.Context, run_id: Annotated[str, typer.Argument(help="Run id (see `models list`).")]
) -> None:
    """One run: metrics, bundle, hash, label batches and alias history (JSON)."""
    from labelbench.services.registry import show_run

    st = state(ctx)
    with st.workspace() as ws:
        typer.echo(json.dumps(show_run(ws, run_id), indent=2))


@models_app.command("promote")
def models_promote(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run to make production.")],
    force: Annotated[bool, typer.Option("--force", help="Promote despite failed gates.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why (required with --force).")] = None,
) -> None:
    """Make a run production; the previous production is kept for `rollback`."""
    from labelbench.services.registry import current_user, promote

    st = state(ctx)
    with st.workspace() as ws:
        previous = promote(ws, run_id, actor=current_user(), force=force, reason=reason)
    st.out.print(f"{run_id} is production (was {previous or 'none'})")


@models_app.command("rollback")
def models_rollback(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Why, recorded in the log.")] = None,
) -> None:
    """Restore the production model the current one replaced."""
    from labelbench.services.registry import current_user, rollback

    st = state(ctx)
    with st.workspace() as ws:
        old, new = rollback(ws, actor=current_user(), reason=reason)
    st.out.print(f"production rolled back from {old} to {new}")


@batches_app.command("list")
def batches_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Labelling batches: analyst, status, labels, and the new positives, confirmed and
    overturned incident days they found."""
    from rich.table import Table

    from labelbench.services.batches import list_batches

    st = state(ctx)
    with st.workspace() as ws:
        rows = list_batches(ws)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("batch", "analyst", "started", "status", "strategy", "labels", "new +",
                  "confirmed", "overturned")  # fmt: skip
    for r in rows:
        table.add_row(str(r["batch_id"]), r["analyst"], r["started_at"][:16], r["status"],
                      r["strategy"], str(r["labels"]), str(r["new_positives"]),
                      str(r["confirmed"]), str(r["overturned"]))  # fmt: skip
    st.out.print(table)


@batches_app.command("revert")
def batches_revert(
    ctx: typer.Context,
    batch_id: Annotated[int, typer.Argument(help="Batch to withdraw.")],
    reason: Annotated[str, typer.Option(help="Why, recorded with the batch.")] = "",
) -> None:
    """Withdraw a batch's labels: kept in the log, marked reverted, ignored by the next retrain."""
    from labelbench.services.batches import revert_batch

    st = state(ctx)
    with st.workspace() as ws:
        n = revert_batch(ws, batch_id, reason=reason or None)
    st.out.print(f"batch {batch_id} reverted: {n} label events no longer count")
