"""The review screen: disagreements listed, adjudicated with y/n/u, recorded in the log."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable
from tui_helpers import labels, run_async, settle

from labelbench.services.labelling import LabellingService
from labelbench.services.review import disagreements
from labelbench.services.workspace import Workspace
from labelbench.tui.app import create_app
from labelbench.tui.screens.review import ReviewScreen


def dispute(ws: Workspace) -> int:
    """Two analysts label the same served sample differently; returns its id."""
    alice = LabellingService(ws, "alice")
    alice.start()
    view = alice.next_item()
    assert view is not None and view.item is not None
    alice.decide(
        view.sample_id, "positive", fingerprint_seen=view.fingerprint, item_id=view.item.item_id
    )
    bob = LabellingService(ws, "bob")
    bob.start()
    bob.decide(view.sample_id, "negative", fingerprint_seen=view.fingerprint)
    return view.sample_id


@run_async
async def test_lead_adjudicates_a_disagreement(tui_ws: Workspace) -> None:
    sample_id = dispute(tui_ws)
    assert [d.sample_id for d in disagreements(tui_ws)] == [sample_id]
    app = create_app(tui_ws, analyst="lead", mode="review", retry_delays=(0.0,))
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        table: DataTable[Any] = app.screen.query_one("#disputes", DataTable)
        assert table.row_count == 1
        shown = app.screen.query_one("#history")
        assert "alice" in str(shown.content) and "bob" in str(shown.content)
        await pilot.press("y")
        await settle(pilot)
        assert table.row_count == 0
        await pilot.press("q")
        await settle(pilot)
    final = [lab for lab in labels(tui_ws) if lab.event == "adjudication"]
    assert [(lab.sample_id, lab.verdict, lab.analyst) for lab in final] == [
        (sample_id, "positive", "lead")
    ]
    assert disagreements(tui_ws) == []


@run_async
async def test_review_with_country_filter_and_nothing_to_do(tui_ws: Workspace) -> None:
    dispute(tui_ws)
    app = create_app(tui_ws, analyst="lead", mode="review", countries=["DE"], retry_delays=(0.0,))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table: DataTable[Any] = app.screen.query_one("#disputes", DataTable)
        assert table.row_count == 0
        await pilot.press("n")  # nothing highlighted: no-op
        await settle(pilot)
    assert not [lab for lab in labels(tui_ws) if lab.event == "adjudication"]
