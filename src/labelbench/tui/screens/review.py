"""The review screen: disputed samples (analysts disagree), adjudicated by a lead with y/n/u.

An adjudication is an ``adjudication`` event in the label log (the service writes it), so the
analysts' original decisions stay visible and the audit trail is complete.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from labelbench.services.item_view import SampleView
from labelbench.services.labelling import LabellingService
from labelbench.services.review import Disagreement, adjudicate, disagreements
from labelbench.services.workspace import Workspace
from labelbench.tui.format import verdict as verdict_text
from labelbench.tui.keys import REVIEW_ACTIONS, bindings
from labelbench.tui.messages import (
    Adjudicated,
    ConnectionLost,
    ConnectionRestored,
    DisagreementsLoaded,
    ReviewDetail,
)
from labelbench.tui.screens.base import DEFAULT_RETRY_DELAYS, ServiceScreen
from labelbench.tui.screens.dialogs import HelpScreen, NoteDialog
from labelbench.tui.widgets.context import LabelHistory
from labelbench.tui.widgets.evidence import EvidencePanel
from labelbench.tui.widgets.item_header import ItemHeader


class ReviewScreen(ServiceScreen):
    """List of disagreements on the left, the highlighted sample's details on the right."""

    BINDINGS = bindings(REVIEW_ACTIONS)

    def __init__(
        self,
        *,
        ws: Workspace,
        lead: str,
        countries: Sequence[str] | None,
        keys: dict[str, str],
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        super().__init__(retry_delays=retry_delays)
        self.ws = ws
        self.lead = lead
        self.countries = [c.upper() for c in countries] if countries else None
        self.keys = keys
        self.viewer = LabellingService(ws, lead)
        """Only used to assemble sample views (no batch is opened for a lead)."""
        self.rows: list[Disagreement] = []
        self.busy = True
        self.notes: dict[int, tuple[str, str]] = {}
        self.adjudicated = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="notice")
        yield Static(id="review-summary")
        with Horizontal(id="review-body"):
            table: DataTable[str | Text] = DataTable(id="disputes", cursor_type="row")
            yield table
            with Vertical(id="review-detail"):
                yield ItemHeader(id="item-header")
                yield LabelHistory(id="history")
                yield EvidencePanel(id="evidence")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "labelbench review"
        self.sub_title = f"lead {self.lead}"
        self.query_one("#notice").display = False
        self.query_one("#disputes", DataTable).add_columns("country", "day", "verdicts")
        self.query_one("#disputes").border_title = "disagreements"
        self.query_one("#history").border_title = "label log of this sample"
        self.query_one("#evidence").border_title = "evidence that day"
        self._load()

    # --- workers ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="load")
    def _load(self) -> None:
        rows = self.call_service(lambda: disagreements(self.ws, self.countries))
        self.post_message(DisagreementsLoaded(rows))

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail", name="detail")
    def _detail(self, sample_id: int) -> None:
        view = self.call_service(lambda: self.viewer.view_sample(sample_id))
        self.post_message(ReviewDetail(view))

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="adjudicate")
    def _adjudicate(self, sample_id: int, verdict: str, note: str | None) -> None:
        label_id = self.call_service(
            lambda: adjudicate(self.ws, sample_id, verdict, lead=self.lead, note=note)
        )
        self.post_message(Adjudicated(sample_id, verdict, label_id))
        rows = self.call_service(lambda: disagreements(self.ws, self.countries))
        self.post_message(DisagreementsLoaded(rows))

    def worker_ended(self, worker: Worker[object], *, failed: bool) -> None:
        if worker.group == "review":
            self.busy = False

    # --- handlers -----------------------------------------------------------------------------

    def on_disagreements_loaded(self, message: DisagreementsLoaded) -> None:
        table: DataTable[str | Text] = self.query_one("#disputes", DataTable)
        keep = table.cursor_row
        self.rows = message.rows
        table.clear()
        for d in message.rows:
            votes = Text(" ")
            for analyst, v in d.verdicts.items():
                votes.append(f"{analyst}:")
                votes.append_text(verdict_text(v))
                votes.append(" ")
            table.add_row(d.country, d.day.isoformat(), votes, key=str(d.sample_id))
        self.query_one("#review-summary", Static).update(
            f"{len(message.rows)} disputed samples"
            + (f" in {', '.join(self.countries)}" if self.countries else "")
            + f" · {self.adjudicated} adjudicated in this session"
            + " · y/n/u decides the highlighted one"
        )
        self.busy = False
        if message.rows:
            table.move_cursor(row=min(keep, len(message.rows) - 1))
            self._detail(message.rows[table.cursor_row].sample_id)
        else:
            self._show(None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "disputes" and event.row_key.value is not None:
            self._detail(int(event.row_key.value))

    def on_review_detail(self, message: ReviewDetail) -> None:
        current = self._current()
        if current is not None and current.sample_id == message.view.sample_id:
            self._show(message.view)

    def _show(self, sv: SampleView | None) -> None:
        note = self.notes.get(sv.sample_id) if sv is not None else None
        header = self.query_one(ItemHeader)
        if sv is None:
            header.update(Text("No disagreements left to adjudicate. q quits.", style="bold"))
        else:
            header.show(sv, live=True, cursor=None, history_len=0, note=note)
        self.query_one(LabelHistory).show(sv)
        self.query_one(EvidencePanel).show(sv)

    def on_adjudicated(self, message: Adjudicated) -> None:
        self.adjudicated += 1
        self.notes.pop(message.sample_id, None)
        self.notify(f"Adjudicated sample {message.sample_id}: {message.verdict}.", timeout=3)

    def on_connection_lost(self, message: ConnectionLost) -> None:
        notice = self.query_one("#notice", Static)
        notice.display = True
        notice.add_class("-error")
        notice.update(
            f"Database connection lost: retrying in {message.delay:g}s (attempt {message.attempt})."
        )

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.query_one("#notice").display = False

    # --- actions ------------------------------------------------------------------------------

    def _current(self) -> Disagreement | None:
        table = self.query_one("#disputes", DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_adjudicate(self, verdict: str) -> None:
        current = self._current()
        if self.busy or current is None:
            return
        self.busy = True
        note = " ".join(self.notes.get(current.sample_id, ())).strip() or None
        self._adjudicate(current.sample_id, verdict, note)

    def action_note(self) -> None:
        current = self._current()
        if current is None:
            return
        sample_id = current.sample_id

        def attach(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.notes[sample_id] = result

        self.app.push_screen(NoteDialog(*self.notes.get(sample_id, ("", ""))), attach)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(REVIEW_ACTIONS, self.keys))

    def action_quit_review(self) -> None:
        self.app.exit(None)
