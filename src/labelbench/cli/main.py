"""The `labelbench` command: a thin Typer wrapper over the services layer.

Exit codes are part of the interface (see :class:`labelbench.errors.ExitCode` and the README).
Heavy imports (pandas, scikit-learn, Textual) happen inside the commands that need them.
"""

from __future__ import annotations

import copy
import gc
import os
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from labelbench import __version__
from labelbench.cli import data, db, imports, label, models, queue, report, simulate
from labelbench.cli.state import CliState
from labelbench.errors import ExitCode, LabelbenchError

app = typer.Typer(
    name="labelbench",
    help=(
        "Label curation and active learning for sparse-positive countries.\n\n"
        "Typical day: `labelbench demo` (or point LABELBENCH_DATABASE_URL at real data and run "
        "`labelbench db upgrade` + `labelbench features build`), then `labelbench label` to "
        "label, `labelbench retrain` to measure, `labelbench report weekly` to review."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
DAILY, MODELS, DATA = "Labelling day", "Models and evaluation", "Data and setup"
app.command("label", rich_help_panel=DAILY)(label.label)
app.command("review", rich_help_panel=DAILY)(label.review)
app.add_typer(queue.app, name="queue", rich_help_panel=DAILY)
app.add_typer(report.app, name="report", rich_help_panel=DAILY)
app.command("retrain", rich_help_panel=MODELS)(models.retrain)
app.add_typer(models.models_app, name="models", rich_help_panel=MODELS)
app.add_typer(models.batches_app, name="batches", rich_help_panel=MODELS)
app.command("simulate", rich_help_panel=MODELS)(simulate.simulate)
app.command("demo", rich_help_panel=DATA)(data.demo)
app.command("status", rich_help_panel=DATA)(data.status)
app.add_typer(db.app, name="db", rich_help_panel=DATA)
app.add_typer(imports.import_app, name="import", rich_help_panel=DATA)
app.add_typer(data.features_app, name="features", rich_help_panel=DATA)
app.add_typer(data.export_app, name="export", rich_help_panel=DATA)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"labelbench {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="SQLAlchemy URL (overrides LABELBENCH_DATABASE_URL and labelbench.toml).",
            show_default=False,
        ),
    ] = None,
    models_dir: Annotated[
        Path | None,
        typer.Option("--models-dir", help="Model registry folder (default: ./models)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Config file (default: ./labelbench.toml if present)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More progress detail.")] = False,
    traceback_: Annotated[
        bool, typer.Option("--traceback", help="Show the full stack trace on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(
        config_file=config,
        overrides={"database_url": database_url, "models_dir": models_dir},
        verbose=verbose,
    )


_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def _print_error(message: str) -> None:
    # Defence in depth: whatever produced the message, a URL password never reaches the terminal.
    message = _URL_PASSWORD.sub(r"\1***@", message.splitlines()[0] if message else "")
    typer.echo(f"labelbench: error: {message}", err=True)


def _is_bad_value(exc: Exception) -> bool:
    """A value given to a known option was refused (a missing one, or a bad argument, is a
    usage error)."""
    from typer._click.exceptions import MissingParameter

    if not isinstance(exc, typer.BadParameter) or isinstance(exc, MissingParameter):
        return False
    return exc.param is None or exc.param.param_type_name == "option"


def _flags_take_no_value() -> None:
    """Typer's Rich help prints ``<bool>`` after every flag, though a flag takes no value
    (``--json=true`` is refused); show no type for flags and counters, as plain help does."""
    from typer.core import TyperOption

    typed = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag or self.count else typed(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()


#: Global options that take a value: the command's name is the first other word.
_VALUED_OPTIONS = frozenset({"--database-url", "--models-dir", "--config"})


def command_app(args: Sequence[str]) -> typer.Typer:
    """The app holding only the command that ``args`` name (the whole app when they name none
    it knows: `--help`, `--version`, a typo). Typer turns every registered command into a Click
    command on each start; one instead of all saves a few hundredths of a second."""
    name: str | None = None
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif arg == "--":
            break
        elif not arg.startswith("-"):
            name = arg
            break
    commands = [c for c in app.registered_commands if c.name == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app
    one = copy.copy(app)
    one.registered_commands, one.registered_groups = commands, groups
    return one


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map every failure to one stderr line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_trace = "--traceback" in args or os.environ.get("LABELBENCH_TRACEBACK") == "1"
    command = typer.main.get_command(command_app(args))
    try:
        command.main(args=args, prog_name="labelbench", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _print_error("interrupted")
        return ExitCode.INTERRUPTED
    except typer.TyperException as exc:  # usage errors (typer vendors click's exceptions)
        if _is_bad_value(exc):  # the README's "bad flag value" (3), one line like other errors
            _print_error(exc.format_message())
            return ExitCode.CONFIG
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _print_error(exc.format_message())
        return int(exc.exit_code)
    except LabelbenchError as exc:
        if show_trace:
            traceback.print_exc()
        _print_error(str(exc))
        for line in exc.details:
            typer.echo(_URL_PASSWORD.sub(r"\1***@", line), err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _print_error("interrupted")
        return ExitCode.INTERRUPTED
    except OSError as exc:
        if exc.filename is None:  # a socket or system failure: nothing the user named
            return _unexpected(exc, show_trace)
        if show_trace:
            traceback.print_exc()
        # A file or folder the user named cannot be read or written (permissions, missing folder).
        _print_error(f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}")
        return ExitCode.INPUT
    except Exception as exc:
        return _unexpected(exc, show_trace)
    return ExitCode.OK


def _unexpected(exc: BaseException, show_trace: bool) -> int:
    if show_trace:
        traceback.print_exc()
    _print_error(f"unexpected {type(exc).__name__}: {exc} (rerun with --traceback for details)")
    return ExitCode.UNEXPECTED


#: Net allocations between young-generation collections in a `labelbench` process (default 700).
GC_YOUNG_THRESHOLD = 50_000


def run() -> None:
    """Console-script entry point (`labelbench`, `python -m labelbench`).

    Garbage collection is tuned for a command-line process: start-up imports leave some 150,000
    long-lived objects (SQLAlchemy, pydantic, Rich) that the default thresholds scan over and
    over without finding garbage, and the interpreter's exit scans them all once more; together
    about a quarter of a read-only command's time. Young collections therefore wait for 50,000
    net allocations, and once the command has returned its objects are frozen: the OS reclaims
    them, atexit handlers still run and stdout/stderr are still flushed.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    code = main()
    gc.freeze()
    sys.exit(code)
