"""Labelling commands: `label` (the labelling app) and `review` (adjudicate disagreements).

Thin wrappers: resolve settings, open the workspace (so a bad URL or schema fails with one line
and its exit code before the terminal is taken over), run the app from
:func:`labelbench.tui.app.create_app`, then print the session summary to the restored terminal.
Textual is imported inside the commands so other commands never pay for it.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from labelbench.cli.queue import split_countries
from labelbench.cli.state import state
from labelbench.domain.scope import SCOPE_HELP
from labelbench.errors import InputError


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry / no login name in some containers
        raise InputError("cannot tell who you are; pass --analyst NAME") from None


def label(
    ctx: typer.Context,
    countries: Annotated[
        str | None,
        typer.Option("--countries", help=SCOPE_HELP),
    ] = None,
    analyst: Annotated[
        str | None, typer.Option("--analyst", help="Your name in the label log (default: OS user).")
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
    with st.workspace() as ws:
        app = create_app(
            ws,
            analyst=(analyst or _default_user()).strip(),
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
            analyst=(lead or _default_user()).strip(),
            mode="review",
            countries=split_countries(countries),
        )
        app.run()
