"""Labelling commands: `label` (the labelling app) and `review` (adjudicate disagreements).

Thin wrappers: resolve settings, open the workspace (so a bad URL or schema fails with one line
and its exit code before the terminal is taken over), run the app from
:func:`labelbench.tui.app.create_app`, then print the session summary to the restored terminal.
Textual is imported inside the commands so other commands never pay for it.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer
from rich.console import Console

from labelbench.cli.queue import split_countries
from labelbench.cli.state import state
from labelbench.domain.scope import SCOPE_HELP
from labelbench.errors import InputError


def resolve_analyst(given: str | None, configured: str | None, err: Console) -> str:
    """Who is labelling: the flag, the config, a remembered name, or a name the OS user gives.

    An OS user such as ``root`` (everyone, in containers) cannot tell analysts apart, so then
    the analyst is asked once, on a terminal, and the answer is remembered.
    """
    from labelbench.config import SHARED_USERS, remember_analyst, remembered_analyst

    for name in (given, configured, remembered_analyst()):
        if name and name.strip():
            return name.strip()
    try:
        user = getpass.getuser().strip()
    except (KeyError, OSError):  # no passwd entry / no login name in some containers
        user = ""
    if user.lower() not in SHARED_USERS:
        return user
    if not sys.stdin.isatty():
        raise InputError(
            f"the OS user ({user or 'unknown'}) cannot tell analysts apart; "
            "pass --analyst NAME or set `analyst` in labelbench.toml"
        )
    name = ""
    while not name:
        name = typer.prompt(
            f"Your name for the label log (the OS user '{user or 'unknown'}' is shared)",
            err=True,
        ).strip()
    path = remember_analyst(name)
    err.print(f"[dim]remembered as {name} in {path}[/dim]", highlight=False)
    return name


def label(
    ctx: typer.Context,
    countries: Annotated[
        str | None,
        typer.Option("--countries", help=SCOPE_HELP),
    ] = None,
    analyst: Annotated[
        str | None,
        typer.Option(
            "--analyst",
            help="Your name in the label log. Default: `analyst` in the config, the name "
            "remembered from an earlier start, or the OS user (asked for when that is root).",
        ),
    ] = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Query strategy when a queue is built.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Items per queue build.")
    ] = None,
    no_train: Annotated[
        bool,
        typer.Option(
            "--no-train",
            help="Do not train a baseline model in the background when none exists.",
        ),
    ] = False,
) -> None:
    """Label country-days in a terminal app: y/n/u/s decide, z undoes, ? lists every key.

    Every decision is committed before the next item appears; quitting (q) closes the batch and
    prints a summary. A killed session resumes where it was on the next start.
    """
    from labelbench.tui.app import create_app
    from labelbench.tui.summary import render_summary

    st = state(ctx)
    name = resolve_analyst(analyst, st.settings().analyst, st.err)
    with st.workspace() as ws:
        app = create_app(
            ws,
            analyst=name,
            countries=split_countries(countries),
            strategy=strategy,
            batch_size=batch_size,
            train_baseline=not no_train,
        )
        summary = app.run()
    if summary is not None:
        st.out.print(render_summary(summary))


def review(
    ctx: typer.Context,
    countries: Annotated[
        str | None,
        typer.Option("--countries", help="Comma-separated alpha-2 codes (default: all)."),
    ] = None,
    lead: Annotated[
        str | None, typer.Option("--lead", help="Your name in the label log (default: OS user).")
    ] = None,
) -> None:
    """Adjudicate samples on which analysts disagree (y/n/u); recorded in the label log."""
    from labelbench.tui.app import create_app

    st = state(ctx)
    with st.workspace() as ws:
        app = create_app(
            ws,
            analyst=resolve_analyst(lead, st.settings().analyst, st.err),
            mode="review",
            countries=split_countries(countries),
        )
        app.run()
