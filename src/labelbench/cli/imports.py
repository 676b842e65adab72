"""`labelbench import`: a team's own evidence, incidents, feature tables and country overrides."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from labelbench.cli.state import CliState, state
from labelbench.errors import InputError

if TYPE_CHECKING:
    from labelbench.services.imports import ImportOptions, ImportReport, ImportTarget

import_app = typer.Typer(
    help=(
        "Import a team's own data from CSV (.csv, .csv.gz, .tsv) or Parquet.\n\n"
        "Every file is validated completely before anything is written: a bad file is rejected "
        "as a whole (exit 11) with its first errors by line and column, unless --skip-bad-rows "
        "imports the good rows and writes the bad ones to a side file. Re-importing a file "
        "changes nothing. After an import, the features of the countries it touched are rebuilt."
    ),
    no_args_is_help=True,
)


class DateOrder(StrEnum):
    auto = "auto"
    mdy = "mdy"
    dmy = "dmy"


class EvidenceFormat(StrEnum):
    auto = "auto"
    evidence = "evidence"
    ooni = "ooni"


class UnknownEnd(StrEnum):
    single_day = "single-day"
    open_ended = "open-ended"
    reject = "reject"


class IncidentType(StrEnum):
    censorship = "censorship"
    mixed = "mixed"
    disruption = "disruption"


FileArg = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="The file (.csv, .csv.gz, .tsv, .parquet)."
    ),
]
SkipBad = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows",
        help="Import the good rows; write the bad ones (with line and problem) to a side file.",
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(help="Where --skip-bad-rows writes the bad rows [default: FILE.rejects.csv]."),
]
Order = Annotated[
    DateOrder,
    typer.Option(
        help="How to read 01/02/2020: mdy (US), dmy, or auto (from the file's unambiguous "
        "dates, month-first when none decides)."
    ),
]
CountryMap = Annotated[
    list[str] | None,
    typer.Option(
        "--country-map",
        metavar="NAME=CC",
        help="Map a country name the file uses to an ISO code (repeatable).",
    ),
]
StrictColumns = Annotated[
    bool,
    typer.Option(
        "--strict-columns",
        help="Refuse a file with columns labelbench does not know (default: ignore them and "
        "name them in a notice).",
    ),
]
IgnoreUnknown = Annotated[
    bool,
    typer.Option(
        "--ignore-unknown-columns",
        hidden=True,
        help="Accepted for old scripts: unknown columns are ignored by default now.",
    ),
]
NoBuild = Annotated[
    bool,
    typer.Option(
        "--no-build", help="Do not rebuild features afterwards (run `features build` later)."
    ),
]
ChunkRows = Annotated[
    int, typer.Option(min=100, help="Rows per streamed chunk (memory stays bounded by it).")
]
ShowErrors = Annotated[int, typer.Option("--errors", min=1, help="How many errors to list.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON summary.")]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError(f"{what} needs NAME=VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _run(ctx: typer.Context, target: ImportTarget, path: Path, as_json: bool,
         **fields: Any) -> None:  # fmt: skip
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from labelbench.services.imports import ImportOptions, import_file
    from labelbench.services.registry import current_user

    st = state(ctx)
    options = ImportOptions(actor=current_user(), **fields)
    columns = (
        TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    tasks: dict[str, Any] = {}
    quiet = as_json or not st.err.is_terminal
    with st.workspace() as ws, Progress(*columns, console=st.err, disable=quiet) as bar:

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = import_file(ws, target, path, options, progress)
    if as_json:
        typer.echo(json.dumps(report.to_dict()))
        return
    _print_report(st, report, options)


def _print_report(st: CliState, r: ImportReport, options: ImportOptions) -> None:
    notes = []
    if r.preamble_lines:
        notes.append(f"{r.preamble_lines} note line(s) before the header skipped")
    if r.unknown_columns:
        notes.append(
            f"ignored unknown column(s): {', '.join(r.unknown_columns)} (--strict-columns refuses)"
        )
    if r.duplicates:
        notes.append(f"{r.duplicates:,} duplicate row(s) dropped")
    if r.empty:
        notes.append(f"{r.empty:,} row(s) without measurements dropped")
    st.out.print(
        f"[bold]{Path(r.file).name}[/] ({r.kind}): {r.rows:,} rows read, "
        f"{r.inserted:,} new, {r.updated:,} updated, {r.unchanged:,} unchanged"
        + (f"; {'; '.join(notes)}" if notes else "")
    )
    if r.rejected_rows:
        st.out.print(
            f"[yellow]{r.rejected_rows:,} bad row(s) skipped[/] "
            f"({r.problems:,} problem{'' if r.problems == 1 else 's'}), "
            f"written to {r.rejects_file}"
        )
    if r.date_note:
        st.out.print(r.date_note)
    if r.unknown_ends:
        st.out.print(
            f"{r.unknown_ends:,} incident(s) with end 'Unknown' read as {options.unknown_end} "
            "(--unknown-end)"
        )
    if r.kind == "labels":
        if r.not_standing:
            st.out.print(
                f"{r.not_standing:,} row(s) that no longer stand in the file (undone, retracted "
                "or in a reverted batch) left out"
            )
        if r.label_batch is not None:
            st.out.print(f"labels recorded as batch {r.label_batch} (`batches revert` undoes it)")
    if r.ongoing_until:
        st.out.print(f"open-ended incidents run until {r.ongoing_until}")
    if r.features and r.features["countries"]:
        f = r.features
        st.out.print(
            f"features rebuilt for {f['countries']} countr{'y' if f['countries'] == 1 else 'ies'}: "
            f"{f['inserted']:,} new samples, {f['updated']:,} updated "
            f"({f['fingerprint_changed']:,} with changed evidence), {f['unchanged']:,} unchanged"
        )
    elif options.build_features is False:
        st.out.print("features not rebuilt (--no-build): run `labelbench features build`")
    st.out.print(f"[dim]import #{r.import_id} in {r.seconds:.1f}s[/]")


@import_app.command("evidence")
def import_evidence(
    ctx: typer.Context,
    file: FileArg,
    fmt: Annotated[
        EvidenceFormat,
        typer.Option(
            "--format",
            help="evidence: one row per observation in the schema's columns; ooni: OONI's "
            "aggregation export (probe_cc, measurement_start_day, *_count); auto: by the header.",
        ),
    ] = EvidenceFormat.auto,
    source: Annotated[
        str | None,
        typer.Option(help="Source for files without a source column (ooni, censoredplanet, ...)."),
    ] = None,
    skip_bad_rows: SkipBad = False,
    rejects: Rejects = None,
    date_order: Order = DateOrder.auto,
    country_map: CountryMap = None,
    strict_columns: StrictColumns = False,
    ignore_unknown_columns: IgnoreUnknown = False,
    no_build: NoBuild = False,
    chunk_rows: ChunkRows = 50_000,
    errors: ShowErrors = 10,
    as_json: AsJson = False,
) -> None:
    """Evidence rows, or OONI aggregate counts turned into weighted evidence.

    An OONI row (country, day, counts) becomes one evidence row that stands for its
    measurement_count measurements, anomaly_count + confirmed_count of them anomalous, so
    anomaly_rate and measurement_count count measurements. Rows are keyed by (source,
    source_ref); a file without source_ref gets a content hash, so re-imports never duplicate.
    """
    _run(
        ctx, "evidence", file, as_json,
        evidence_format=fmt.value, default_source=source, skip_bad_rows=skip_bad_rows,
        rejects_path=rejects, date_order=date_order.value,
        country_map=_pairs(country_map, "--country-map"),
        strict_columns=strict_columns, build_features=not no_build,
        chunk_rows=chunk_rows, max_errors_shown=errors,
    )  # fmt: skip


@import_app.command("incidents")
def import_incidents(
    ctx: typer.Context,
    file: FileArg,
    default_type: Annotated[
        IncidentType | None,
        typer.Option(help="Type of rows without one (or of every row if there is no type column)."),
    ] = None,
    type_map: Annotated[
        list[str] | None,
        typer.Option(
            "--type-map",
            metavar="VALUE=TYPE",
            help="Map a type the file uses to censorship, mixed or disruption (repeatable).",
        ),
    ] = None,
    ongoing_until: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="End date for open-ended incidents ('Ongoing', 'present' or an empty end) "
            "[default: the last evidence day in the database; today if there is none].",
        ),
    ] = None,
    unknown_end: Annotated[
        UnknownEnd,
        typer.Option(
            help="An end of 'Unknown' (or n/a, tbd, ?): single-day (ends on its start day), "
            "open-ended (runs like 'Ongoing', flagged open_ended) or reject (a row problem).",
        ),
    ] = UnknownEnd.single_day,
    skip_bad_rows: SkipBad = False,
    rejects: Rejects = None,
    date_order: Order = DateOrder.auto,
    country_map: CountryMap = None,
    strict_columns: StrictColumns = False,
    ignore_unknown_columns: IgnoreUnknown = False,
    no_build: NoBuild = False,
    chunk_rows: ChunkRows = 50_000,
    errors: ShowErrors = 10,
    as_json: AsJson = False,
) -> None:
    """Incident lists: country (ISO code or English name), start, end, type, source, link.

    Dates may be ISO (2020-01-31), numeric (1/31/2020; see --date-order) or written out
    (31 January 2020). Types are mapped to censorship, mixed or disruption ("Shutdown" and
    "Social media block" are censorship, "Power outage" is disruption; extend with --type-map).
    Re-importing matches incidents by country, start, type, source, link and region: regional
    events in one country on one day stay distinct (the region is shown in the source).
    Unknown columns (descriptions, casualties...) are ignored with a notice.
    """
    types = _pairs(type_map, "--type-map")
    for name, value in types.items():
        if value not in {t.value for t in IncidentType}:
            raise InputError(f"--type-map {name}={value}: use censorship, mixed or disruption")
    _run(
        ctx, "incidents", file, as_json,
        default_type=default_type.value if default_type else None, type_map=types,
        ongoing_until=ongoing_until.date() if ongoing_until else None,
        unknown_end=unknown_end.value,
        skip_bad_rows=skip_bad_rows, rejects_path=rejects, date_order=date_order.value,
        country_map=_pairs(country_map, "--country-map"),
        strict_columns=strict_columns, build_features=not no_build,
        chunk_rows=chunk_rows, max_errors_shown=errors,
    )  # fmt: skip


@import_app.command("samples")
def import_samples(
    ctx: typer.Context,
    file: FileArg,
    skip_bad_rows: SkipBad = False,
    rejects: Rejects = None,
    date_order: Order = DateOrder.auto,
    country_map: CountryMap = None,
    strict_columns: StrictColumns = False,
    ignore_unknown_columns: IgnoreUnknown = False,
    chunk_rows: ChunkRows = 50_000,
    errors: ShowErrors = 10,
    as_json: AsJson = False,
) -> None:
    """A precomputed country-day feature table: country, day, the 16 features, optional label.

    The rows are stored as given and the model trains on them; `features build` never
    recomputes or removes them. A row without a label takes the incidents' label for its day.
    """
    _run(
        ctx, "samples", file, as_json,
        skip_bad_rows=skip_bad_rows, rejects_path=rejects, date_order=date_order.value,
        country_map=_pairs(country_map, "--country-map"),
        strict_columns=strict_columns, chunk_rows=chunk_rows,
        max_errors_shown=errors,
    )  # fmt: skip


@import_app.command("countries")
def import_countries(
    ctx: typer.Context,
    file: FileArg,
    symmetric: Annotated[
        bool,
        typer.Option("--symmetric", help="Also add each listed neighbour's edge back."),
    ] = False,
    skip_bad_rows: SkipBad = False,
    rejects: Rejects = None,
    country_map: CountryMap = None,
    strict_columns: StrictColumns = False,
    ignore_unknown_columns: IgnoreUnknown = False,
    no_build: NoBuild = False,
    errors: ShowErrors = 10,
    as_json: AsJson = False,
) -> None:
    """Override regime clusters or neighbour sets: columns country, cluster, neighbours.

    A cluster cell sets the country's cluster ("none" removes it; empty keeps it). A neighbours
    cell ("AE;SA;YE") replaces the country's contagion neighbours ("none" clears them; empty
    keeps them). Overrides survive `db upgrade` and `demo`; cluster heads follow them at the
    next retrain, and the features of countries whose neighbours changed are rebuilt now.
    """
    _run(
        ctx, "countries", file, as_json,
        symmetric=symmetric, skip_bad_rows=skip_bad_rows, rejects_path=rejects,
        country_map=_pairs(country_map, "--country-map"),
        strict_columns=strict_columns, build_features=not no_build,
        max_errors_shown=errors,
    )  # fmt: skip


@import_app.command("labels")
def import_labels(
    ctx: typer.Context,
    file: FileArg,
    skip_bad_rows: SkipBad = False,
    rejects: Rejects = None,
    date_order: Order = DateOrder.auto,
    country_map: CountryMap = None,
    strict_columns: StrictColumns = False,
    ignore_unknown_columns: IgnoreUnknown = False,
    chunk_rows: ChunkRows = 50_000,
    errors: ShowErrors = 10,
    as_json: AsJson = False,
) -> None:
    """Labels made elsewhere: country, day, verdict, analyst; optional timestamp, note, citation.

    Verdicts: positive, negative, unsure, skip (also 1/0, yes/no). Each row becomes a decision
    event of one batch named after the file (`batches revert` withdraws it). A day without a
    sample is a row problem, never an invented sample. A file written by `export labels`
    imports as it is: adjudications stay adjudications, undone and reverted rows stay out.
    """
    _run(
        ctx, "labels", file, as_json,
        skip_bad_rows=skip_bad_rows, rejects_path=rejects, date_order=date_order.value,
        country_map=_pairs(country_map, "--country-map"), strict_columns=strict_columns,
        chunk_rows=chunk_rows, max_errors_shown=errors,
    )  # fmt: skip
