"""Small helpers shared by the TUI tests (imported by name: tests/tui is on sys.path)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import select
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from labelbench.db.models import Label, LabelBatch
from labelbench.services.workspace import Workspace

ANALYST = "ana"
"""Fixed analyst name (snapshots show it)."""


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body with asyncio.run (no async pytest plugin is installed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return wrapper


def labels(ws: Workspace, analyst: str | None = None) -> list[Label]:
    with ws.transaction() as session:
        query = select(Label).order_by(Label.id)
        if analyst is not None:
            query = query.where(Label.analyst == analyst)
        return list(session.scalars(query))


def batches(ws: Workspace) -> list[LabelBatch]:
    with ws.transaction() as session:
        return list(session.scalars(select(LabelBatch).order_by(LabelBatch.id)))


def screen_text(widget: Any) -> str:
    """Plain text a Static widget currently shows (str, Rich Text or Rich Table content)."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def settle(pilot: Pilot[object]) -> None:
    """Wait until no worker runs and the message queues are drained (never sleeps).

    Handlers start new workers (a decision worker posts the next item...), so loop until a pause
    finds nothing running. Worker failures are the app's business (it notifies); ignore them here.
    """
    app = pilot.app
    for _ in range(50):
        await pilot.pause()
        running = [w for w in app.workers if w.is_running]
        if not running:
            await pilot.pause()
            if not any(w.is_running for w in app.workers):
                return
            continue
        with contextlib.suppress(WorkerFailed):
            await app.workers.wait_for_complete(running)
    raise AssertionError("workers did not settle")
