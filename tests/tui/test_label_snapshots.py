"""Reviewed screenshots of the labelling app (pytest-textual-snapshot).

Deterministic: fixed tiny world and analyst, no model (no probabilities), no decisions yet (pace
0/h, no timestamps on screen), no training. Update with ``pytest --snapshot-update`` and review the
SVGs in ``__snapshots__/`` before committing.
"""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from tui_helpers import ANALYST, settle

from labelbench.services.workspace import Workspace
from labelbench.tui.app import create_app


def app_for(ws: Workspace) -> Any:
    return create_app(ws, analyst=ANALYST, train_baseline=False, retry_delays=(0.0,))


async def ready(pilot: Pilot[Any]) -> None:
    await settle(pilot)


def test_main_screen(tui_ws: Workspace, snap_compare: Any) -> None:
    assert snap_compare(app_for(tui_ws), terminal_size=(130, 42), run_before=ready)


def test_help_screen(tui_ws: Workspace, snap_compare: Any) -> None:
    assert snap_compare(
        app_for(tui_ws), terminal_size=(130, 42), run_before=ready, press=["question_mark"]
    )


def test_too_small_terminal(tui_ws: Workspace, snap_compare: Any) -> None:
    assert snap_compare(app_for(tui_ws), terminal_size=(70, 20), run_before=ready)
