"""Data commands: `demo`, `features build`, `status`, `export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from labelbench.cli.state import state

if TYPE_CHECKING:
    from rich.table import Table

features_app = typer.Typer(
    help="Compute samples and the 16 production features.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Export samples or the label log (CSV or Parquet).", no_args_is_help=True
)


def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Random seed of the world.")] = 0,
    scale: Annotated[
        int, typer.Option(min=1, max=1000, help="Multiply the world (K consecutive years).")
    ] = 1,
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="Drop the demo database (labels too) and regenerate it; asks first."
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before --reset drops the database.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Build the demo world: ~90k evidence rows, ~2,300 incidents, ~4,400 samples in 131 countries.

    Idempotent: a demo database is kept as it is (labels survive) unless `--reset` is given,
    which asks before dropping it (`--yes` skips the question). A database holding data the demo
    did not make is never filled or dropped (exit 10).
    """
    from labelbench.services.demo import create_demo, inspect_database

    st = state(ctx)
    settings = st.settings()
    if reset and not yes:
        contents = inspect_database(settings)
        if contents.migrated and contents.demo:
            _confirm_reset(settings.safe_database_url, contents.labels)
    report = create_demo(settings, seed=seed, scale=scale, reset=reset, progress=st.info)
    if as_json:
        st.out.print_json(json.dumps(report.to_dict()))
        return
    if not report.created:
        st.out.print(
            f"kept the existing database ({report.evidence_rows:,} evidence rows, "
            f"{report.samples:,} samples); use --reset to regenerate"
        )
        return
    st.out.print(
        f"demo world ready in {report.seconds:.1f}s: {report.evidence_rows:,} evidence rows, "
        f"{report.incidents:,} incidents, {report.probe_metrics:,} probe days, "
        f"{report.samples:,} samples"
    )


def _confirm_reset(url: str, labels: int) -> None:
    """Ask before dropping a demo database; without a terminal to ask on, refuse."""
    import sys

    from labelbench.errors import InputError

    question = f"Drop every table of {url} ({labels:,} labels) and regenerate the demo?"
    if not sys.stdin.isatty():
        raise InputError(f"{question} Pass --yes to confirm without a terminal.")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Abort()


@features_app.command("build")
def features_build(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Recompute samples and features from evidence; writes only what changed (idempotent)."""
    from labelbench.services.features import build_features

    st = state(ctx)
    with st.workspace() as ws:
        report = build_features(ws, progress=st.info)
    if as_json:
        st.out.print_json(json.dumps(report.to_dict()))
        return
    st.out.print(
        f"{report.samples:,} samples and {report.candidates:,} candidate days: "
        f"{report.inserted:,} new, {report.updated:,} updated "
        f"({report.fingerprint_changed:,} with changed evidence), {report.unchanged:,} unchanged, "
        f"{report.removed:,} removed, {report.kept_stale:,} kept for their labels "
        f"({report.seconds:.1f}s)"
    )


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What is in the database: samples, positives, evidence, incidents, labels per country."""
    st = state(ctx)
    with st.workspace() as ws:  # the schema check first: its error needs none of the tables
        from labelbench.services.status import status as compute

        result = compute(ws)
    if as_json:
        typer.echo(json.dumps(result))
        return
    st.out.print(
        f"[bold]{result['database']}[/bold]  schema {result['schema_revision']}  "
        f"production model: {result['production_model'] or 'none'}"
    )
    st.out.print(
        f"{result['countries']} countries, {result['samples']:,} samples "
        f"(+{result['candidate_days']:,} candidate days), "
        f"{result['evidence_rows']:,} evidence rows, {result['incidents']:,} incidents, "
        f"{result['human_labels']:,} human labels"
    )
    st.out.print(_positives_line(result))
    st.out.print(country_table(result["per_country"]))


#: The per-country columns of `status`: (heading, key in the `status --json` rows).
_COUNTRY_COLUMNS = (
    ("country", "country"),
    ("samples", "samples"),
    ("candidates", "candidates"),
    ("positives", "positives"),
    ("incident", "incident_positives"),
    ("new", "new_positives"),
    ("confirmed", "confirmed"),
    ("overturned", "overturned"),
    ("labels", "human_labels"),
)


def country_table(per_country: list[dict[str, Any]]) -> Table:
    """`status`'s per-country table, built as one row whose cells hold a column each, a line
    per country.

    Every cell is a single word (a country code or a count), and Rich never wraps a word (one
    too wide for its column is cut with an ellipsis), so this renders exactly like a row per
    country; Rich lays out 9 cells instead of 9 per country (~1,200 on the demo world), a
    third of the time. ``tests/cli/test_startup.py`` compares both at many widths.
    """
    from rich import box
    from rich.table import Table

    table = Table(
        *(heading for heading, _ in _COUNTRY_COLUMNS),
        title="per country",
        caption="candidates: days with any evidence (samples included); positives: training "
        "positives; incident: incident-derived; new: positives on days no incident marked; "
        "labels: label events",
        box=box.SIMPLE_HEAD,
        padding=(0, 0),
    )
    if per_country:
        table.add_row(
            *("\n".join(str(row[key]) for row in per_country) for _, key in _COUNTRY_COLUMNS)
        )
    return table


def _positives_line(result: dict[str, object]) -> str:
    """Training positives as the sum that makes them, so no difference goes unexplained."""
    r: dict[str, int] = {k: int(v) for k, v in result.items() if isinstance(v, int)}
    parts = [f"{r['incident_positives']:,} incident-derived"]
    if r["overturned"]:
        parts.append(f"- {r['overturned']:,} overturned by analysts")
    if r["undecided_incident_positives"]:
        parts.append(
            f"- {r['undecided_incident_positives']:,} left out (unsure, skipped or disputed)"
        )
    if r["new_positives"]:
        parts.append(f"+ {r['new_positives']:,} new positives")
    line = f"{r['positives']:,} training positives = " + " ".join(parts)
    return line + f"; {r['confirmed']:,} incident positives confirmed by analysts"


@export_app.command("samples")
def export_samples(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Target file (.csv or .parquet).")],
) -> None:
    """One row per sample: country, day, 16 features, effective label and provenance columns."""
    from labelbench.services.export import export_samples as run

    st = state(ctx)
    with st.workspace() as ws:
        n = run(ws, out)
    st.info(f"wrote {n:,} samples to {out}")


@export_app.command("labels")
def export_labels(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Target file (.csv or .parquet).")],
) -> None:
    """The whole label log (every decision, undo and adjudication) with provenance."""
    from labelbench.services.export import export_labels as run

    st = state(ctx)
    with st.workspace() as ws:
        n = run(ws, out)
    st.info(f"wrote {n:,} label events to {out}")
