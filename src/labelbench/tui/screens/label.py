"""The labelling screen: one country-day at a time, decided with one key.

Session state lives here (the shown item, this session's decisions, notes waiting for a
decision); every service call runs in a thread worker of the ``session`` group, which is
exclusive and guarded by :attr:`LabelScreen.busy`, so a key pressed while a decision is being
committed is dropped instead of deciding twice. The next item appears only after the decision has
been committed. One exception: while the shown item is only re-scored by a newly trained model,
the first decision key is kept and applied to it once the new scores are shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState

from labelbench.errors import ConflictError, LabelbenchError
from labelbench.services.item_view import SampleView
from labelbench.services.labelling import LabellingService, Progress
from labelbench.services.workspace import Workspace
from labelbench.tui.keys import LABEL_ACTIONS, bindings, key_label
from labelbench.tui.messages import (
    ClaimLost,
    ConnectionLost,
    ConnectionRestored,
    Decided,
    FilterApplied,
    ItemShown,
    ProgressUpdated,
    SessionClosed,
    SessionStarted,
    TrainingFinished,
    TrainingProgress,
    Undone,
)
from labelbench.tui.screens.base import DEFAULT_RETRY_DELAYS, ServiceScreen
from labelbench.tui.screens.dialogs import CountryFilterDialog, HelpScreen, NoteDialog
from labelbench.tui.summary import SessionSummary
from labelbench.tui.widgets.context import Incidents, LabelHistory, Neighbours
from labelbench.tui.widgets.evidence import EvidencePanel
from labelbench.tui.widgets.features import FeatureTable
from labelbench.tui.widgets.item_header import ItemHeader
from labelbench.tui.widgets.probabilities import Probabilities
from labelbench.tui.widgets.progress import ProgressPanel
from labelbench.tui.widgets.timeline import Timeline

#: Below this terminal size the side panels collapse (keys keep working).
MIN_WIDTH, MIN_HEIGHT = 80, 24

TrainProgress = Callable[[int, int, str], None]
EnsureBaseline = Callable[[Workspace, TrainProgress | None], Any]
"""``ensure_baseline(ws, progress) -> Predictor | None``; the app's default trains in a child
process (:class:`labelbench.services.training_job.BaselineTrainer`) and may have ``cancel()``."""


@dataclass(frozen=True)
class Decision:
    """One item decided in this session (the left/right history)."""

    sample_id: int
    verdict: str
    country: str
    day: str


_ENDED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class LabelScreen(ServiceScreen):
    """Shows the served item and turns keys into committed decisions."""

    BINDINGS = bindings(LABEL_ACTIONS)

    def __init__(
        self,
        *,
        ws: Workspace,
        service: LabellingService,
        keys: dict[str, str],
        ensure_baseline: EnsureBaseline | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        super().__init__(retry_delays=retry_delays)
        self.ws = ws
        self.service = service
        self.keys = keys
        self.ensure_baseline = ensure_baseline
        self.busy = True
        """A service call of the session group is in flight; decision keys are dropped."""
        self.closing = False
        self.quit_requested = False
        self.connection_lost = False
        self.batch_id: int | None = None
        self.targets: list[str] = []
        self.session_targets: list[str] = []
        """Targets at start, offered by the country filter."""
        self.initial_countries = list(service.countries) if service.countries else None
        self.live_view: SampleView | None = None
        """The item being served (claimed); None when the queue is empty."""
        self.shown: SampleView | None = None
        self.cursor: int | None = None
        """Index into :attr:`history` while looking back; None on the live item."""
        self.history: list[Decision] = []
        self.notes: dict[int, tuple[str, str]] = {}
        self.shown_at = time.monotonic()
        self.progress: Progress | None = None
        self.decisions_this_run = 0
        self.model_status: str | None = None
        self.training_failed = False
        self.refreshing = False
        """The shown item is being re-scored by a new model (it stays the same item)."""
        self.queued_verdict: str | None = None
        """A decision key pressed during that re-score, applied once it is shown."""

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="notice")
        yield Static(id="size-notice")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield ItemHeader(id="item-header")
                with Horizontal(id="top"):
                    yield Probabilities(id="probs")
                    yield Timeline(id="timeline")
                with Horizontal(id="middle"):
                    yield FeatureTable(id="features")
                    yield EvidencePanel(id="evidence")
                with Horizontal(id="bottom"):
                    yield Neighbours(id="neighbours")
                    yield Incidents(id="incidents")
                    yield LabelHistory(id="history")
            yield ProgressPanel(id="progress")
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "#probs": "model",
            "#timeline": "±14 days",
            "#features": "16 features vs typical",
            "#evidence": "evidence that day",
            "#neighbours": "neighbours",
            "#incidents": "incidents",
            "#history": "earlier labels",
            "#progress": "progress",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        self.query_one("#notice").display = False
        self.title = "labelbench"
        self.sub_title = f"{self.service.analyst} · starting…"
        self.query_one(ProgressPanel).show(None)
        self._fit(self.app.size.width, self.app.size.height)
        lease = self.ws.settings.queue.lease_seconds
        self.set_interval(max(1.0, lease / 3), self.renew_lease, name="lease-renewal")
        self._start()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Collapse the side panels on a small terminal instead of drawing a broken layout."""
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-compact")
        notice = self.query_one("#size-notice", Static)
        notice.display = small
        if small:
            notice.update(
                f"Terminal {width}x{height} is smaller than {MIN_WIDTH}x{MIN_HEIGHT}: "
                "panels hidden, keys still work (? for help)."
            )

    # --- rendering ----------------------------------------------------------------------------

    def _render_item(self) -> None:
        view = self.shown
        live = self.cursor is None
        note = self.notes.get(view.sample_id) if view is not None else None
        self.query_one(ItemHeader).show(
            view, live=live, cursor=self.cursor, history_len=len(self.history), note=note
        )
        self.query_one(Probabilities).show(view, model=self.model_status)
        self.query_one(Timeline).show(view)
        self.query_one(FeatureTable).show(view)
        self.query_one(EvidencePanel).show(view)
        self.query_one(Neighbours).show(view)
        self.query_one(Incidents).show(view)
        self.query_one(LabelHistory).show(view)

    def _banner(self, text: Text | str | None, *, severity: str = "error") -> None:
        notice = self.query_one("#notice", Static)
        notice.display = text is not None
        notice.set_class(severity == "error", "-error")
        notice.set_class(severity == "warning", "-warning")
        if text is not None:
            notice.update(text)

    # --- workers (thread; only compute and post) ----------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="start")
    def _start(self) -> None:
        info = self.call_service(self.service.start)
        self.post_message(SessionStarted(info))
        view = self.call_service(self.service.next_item)
        self.post_message(ItemShown(view, live=True))
        self.post_message(ProgressUpdated(self.call_service(self.service.progress)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="decide")
    def _decide(
        self,
        view: SampleView,
        verdict: str,
        *,
        live: bool,
        note: tuple[str, str] | None,
        seconds: float,
        then_show: int | None,
        then_cursor: int | None,
    ) -> None:
        item_id = view.item.item_id if live and view.item is not None else None
        try:
            label_id = self.call_service(
                lambda: self.service.decide(
                    view.sample_id,
                    verdict,
                    fingerprint_seen=view.fingerprint,
                    item_id=item_id,
                    note=note[0] if note else None,
                    citation_url=note[1] if note else None,
                    seconds_spent=round(seconds, 1),
                )
            )
        except ConflictError as exc:
            self.post_message(ClaimLost(item_id, str(exc)))
            label_id = None
        if label_id is not None:
            self.post_message(
                Decided(
                    view.sample_id,
                    verdict,
                    label_id,
                    view.country,
                    view.day.isoformat(),
                    revision=not live,
                )
            )
        if live:
            nxt = self.call_service(self.service.next_item)
            self.post_message(ItemShown(nxt, live=True))
        elif then_show is not None:
            sid = then_show
            shown = self.call_service(lambda: self.service.view_sample(sid))
            self.post_message(ItemShown(shown, live=False, cursor=then_cursor))
        else:
            self.post_message(ItemShown(self.live_view, live=True))
        self.post_message(ProgressUpdated(self.call_service(self.service.progress)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="undo")
    def _undo(self) -> None:
        sample_id = self.call_service(self.service.undo)
        self.post_message(Undone(sample_id))
        if sample_id is None:
            self.post_message(ItemShown(self.shown, live=self.cursor is None, cursor=self.cursor))
            return
        view = self.call_service(lambda: self.service.view_sample(sample_id))
        self.post_message(ItemShown(view, live=True))
        self.post_message(ProgressUpdated(self.call_service(self.service.progress)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="navigate")
    def _navigate(self, sample_id: int, cursor: int) -> None:
        view = self.call_service(lambda: self.service.view_sample(sample_id))
        self.post_message(ItemShown(view, live=False, cursor=cursor))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="filter")
    def _filter(self, countries: list[str]) -> None:
        previous = self.service.countries
        live = self.live_view
        if live is not None and live.item is not None:
            item_id = live.item.item_id
            self.call_service(lambda: self.service.release(item_id))
        self.service.countries = countries or self.initial_countries
        try:
            info = self.call_service(self.service.start)
        except LabelbenchError:
            self.service.countries = previous
            self.post_message(ItemShown(self.call_service(self.service.next_item), live=True))
            raise
        self.post_message(FilterApplied(info.countries, filtered=bool(countries)))
        self.post_message(ItemShown(self.call_service(self.service.next_item), live=True))
        self.post_message(ProgressUpdated(self.call_service(self.service.progress)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="close")
    def _close(self) -> None:
        self.post_message(SessionClosed(self.call_service(self.service.close)))

    @work(thread=True, exclusive=True, exit_on_error=False, group="session", name="refresh")
    def _refresh(self, sample_id: int) -> None:
        view = self.call_service(lambda: self.service.view_sample(sample_id))
        self.post_message(ItemShown(view, live=True))

    @work(thread=True, exclusive=True, exit_on_error=False, group="lease", name="renew")
    def _renew(self, item_id: int) -> None:
        if not self.call_service(lambda: self.service.renew(item_id)):
            self.post_message(
                ClaimLost(
                    item_id,
                    "Your claim on this item expired and may now be with another analyst. "
                    "A decision is still recorded unless someone else holds it; "
                    "press s to move on.",
                )
            )

    @work(thread=True, exclusive=True, exit_on_error=False, group="train", name="train")
    def _train(self, ensure_baseline: EnsureBaseline, countries: list[str]) -> None:
        from labelbench.services.queue import build_queue

        def progress(done: int, total: int, message: str) -> None:
            self.post_message(TrainingProgress(done, total, message))

        self.post_message(TrainingProgress(0, 0, "training the baseline model…"))
        predictor = ensure_baseline(self.ws, progress)
        if predictor is None:
            self.post_message(TrainingFinished(None, 0))
            return
        self.service.use_predictor(predictor)
        report = self.call_service(
            lambda: build_queue(self.ws, actor=self.service.analyst, countries=countries)
        )
        self.post_message(TrainingFinished(str(predictor.run_id), report.queued))

    def renew_lease(self) -> None:
        """Timer callback: keep the claim on the served item while the analyst reads it."""
        live = self.live_view
        if live is not None and live.item is not None and not self.closing:
            self._renew(live.item.item_id)

    def failure_title(self, worker: Worker[object]) -> str:
        return {
            "train": "Baseline training failed",
            "filter": "Country filter not applied",
            "close": "Could not close the batch",
        }.get(worker.name, "Error")

    def worker_ended(self, worker: Worker[object], *, failed: bool) -> None:
        if worker.group == "session":
            self.busy = False
            if worker.name == "close":
                self.closing = False
        if worker.name == "train" and failed:
            self.model_status = None
            self.training_failed = True
            reason = str(worker.error).splitlines()[0] if worker.error else "cancelled"
            key = key_label("train", self.keys)
            self.query_one(ProgressPanel).training(
                f"training failed: {reason}. Serving evidence heuristics; {key} retries."
            )

    # --- message handlers (UI thread) ---------------------------------------------------------

    def on_session_started(self, message: SessionStarted) -> None:
        info = message.info
        self.batch_id = info.batch_id
        self.targets = list(info.countries)
        self.session_targets = list(info.countries)
        state = "resumed" if info.resumed else "new"
        self.sub_title = f"{self.service.analyst} · batch {info.batch_id} ({state})"
        if info.resumed:
            self.notify(f"Resumed batch {info.batch_id}.", timeout=3)
        if info.model_run_id is not None:
            self.query_one(ProgressPanel).training(f"model {info.model_run_id}")
        elif self.ensure_baseline is not None:
            self.model_status = "in background"
            self._train(self.ensure_baseline, list(info.countries))
        else:
            self.query_one(ProgressPanel).training("no model: evidence heuristics")

    def on_item_shown(self, message: ItemShown) -> None:
        if message.live:
            self.live_view = message.view
            self.cursor = None
        else:
            self.cursor = message.cursor
        self.shown = message.view
        self.shown_at = time.monotonic()
        self.busy = False
        self._render_item()
        self._apply_queued_verdict()
        if self.quit_requested and not self.busy:
            self.quit_requested = False
            self.action_quit_session()

    def on_decided(self, message: Decided) -> None:
        self.decisions_this_run += 1
        self.notes.pop(message.sample_id, None)
        entry = Decision(message.sample_id, message.verdict, message.country, message.day)
        if message.revision:
            self.history = [
                replace(h, verdict=message.verdict) if h.sample_id == message.sample_id else h
                for h in self.history
            ]
        else:
            self.history.append(entry)

    def on_undone(self, message: Undone) -> None:
        if message.sample_id is None:
            self.notify("Nothing to undo in this session.", severity="warning", timeout=3)
            return
        self.decisions_this_run = max(0, self.decisions_this_run - 1)
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i].sample_id == message.sample_id:
                del self.history[i]
                break
        self.notify("Last decision undone; decide this item again.", timeout=3)

    def on_progress_updated(self, message: ProgressUpdated) -> None:
        self.progress = message.progress
        self.query_one(ProgressPanel).show(message.progress)

    def on_connection_lost(self, message: ConnectionLost) -> None:
        self.connection_lost = True
        self._banner(
            Text.assemble(
                ("Database connection lost", "bold"),
                f" ({message.error.splitlines()[0] if message.error else 'no detail'}). ",
                f"Retrying in {message.delay:g}s (attempt {message.attempt}). ",
                "Confirmed labels are safe; q quits and resumes later.",
            )
        )

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.connection_lost = False
        self._banner(None)
        self.notify("Database connection restored.", timeout=3)

    def on_claim_lost(self, message: ClaimLost) -> None:
        self._banner(Text(message.message), severity="warning")
        self.notify(message.message, title="Claim lost", severity="warning", timeout=8)

    def on_training_progress(self, message: TrainingProgress) -> None:
        panel = self.query_one(ProgressPanel)
        text = f"baseline: {message.message}"
        if message.total:
            text += f" ({message.done}/{message.total})"
        panel.training(text, message.done, message.total)

    def on_training_finished(self, message: TrainingFinished) -> None:
        panel = self.query_one(ProgressPanel)
        self.model_status = None
        if message.run_id is None:
            panel.training("no baseline could be trained: evidence heuristics")
            return
        panel.training(f"model {message.run_id} (queue rebuilt: {message.queued})")
        self.notify(
            f"Baseline model {message.run_id} ready; the queue now follows the model.", timeout=5
        )
        live = self.live_view
        if live is not None and self.cursor is None and not self.busy:
            self.busy = True
            self.refreshing = True
            self._refresh(live.sample_id)
        elif self.cursor is None:
            self._render_item()

    def on_filter_applied(self, message: FilterApplied) -> None:
        self.targets = message.countries
        what = ", ".join(message.countries) if message.filtered else "all targets"
        self.notify(f"Serving {what}.", timeout=3)

    def on_session_closed(self, message: SessionClosed) -> None:
        self.app.exit(self.summary(message.progress, closed=True))

    def summary(self, progress: Progress | None, *, closed: bool) -> SessionSummary:
        return SessionSummary(
            analyst=self.service.analyst,
            batch_id=self.batch_id,
            closed=closed,
            progress=progress,
            decisions_this_run=self.decisions_this_run,
        )

    # --- actions (keys) -----------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.name == "refresh" and event.state in _ENDED:
            self.refreshing = False  # a failed re-score leaves the item as it was shown
            self._apply_queued_verdict()

    def _apply_queued_verdict(self) -> None:
        """Apply a key kept during a re-score once the re-score's worker has ended (so the
        decision's exclusive worker cannot cancel it) and its item is shown."""
        if self.queued_verdict is not None and not self.busy and not self.refreshing:
            verdict, self.queued_verdict = self.queued_verdict, None
            self.action_decide(verdict)

    def action_decide(self, verdict: str) -> None:
        view = self.shown
        if self.refreshing and not self.closing and view is not None:
            # The item is on screen; only its scores are being refreshed: keep the decision
            # (the first key; more would decide items not yet seen).
            self.queued_verdict = self.queued_verdict or verdict
            return
        if self.busy or self.closing or view is None:
            return
        self.busy = True
        live = self.cursor is None
        then_show: int | None = None
        then_cursor: int | None = None
        if not live and self.cursor is not None and self.cursor + 1 < len(self.history):
            then_cursor = self.cursor + 1
            then_show = self.history[then_cursor].sample_id
        self._decide(
            view,
            verdict,
            live=live,
            note=self.notes.get(view.sample_id),
            seconds=time.monotonic() - self.shown_at,
            then_show=then_show,
            then_cursor=then_cursor,
        )

    def action_undo(self) -> None:
        if self.busy or self.closing:
            return
        self.busy = True
        self._undo()

    def action_previous(self) -> None:
        if self.busy or self.closing:
            return
        if not self.history:
            self.notify("No earlier decisions in this session.", timeout=2)
            return
        target = len(self.history) - 1 if self.cursor is None else self.cursor - 1
        if target < 0:
            self.notify("This is the first decision of the session.", timeout=2)
            return
        self.busy = True
        self._navigate(self.history[target].sample_id, target)

    def action_next(self) -> None:
        if self.busy or self.closing or self.cursor is None:
            return
        target = self.cursor + 1
        if target < len(self.history):
            self.busy = True
            self._navigate(self.history[target].sample_id, target)
            return
        self.post_message(ItemShown(self.live_view, live=True))

    def action_note(self) -> None:
        view = self.shown
        if view is None or self.closing:
            return
        sample_id = view.sample_id
        note, url = self.notes.get(sample_id, ("", ""))

        def attach(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            self.notes[sample_id] = result
            self._render_item()

        self.app.push_screen(NoteDialog(note, url), attach)

    def action_filter(self) -> None:
        if self.closing:
            return
        current = self.targets if self.targets != self.session_targets else []

        def apply(result: list[str] | None) -> None:
            if result is None or self.busy:
                return
            self.busy = True
            self._filter(result)

        self.app.push_screen(CountryFilterDialog(current, self.session_targets), apply)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(LABEL_ACTIONS, self.keys))

    def action_train(self) -> None:
        """Retry training after a failure (the only time there is something to retry)."""
        if self.ensure_baseline is None or not self.training_failed:
            self.notify("No failed training to retry.", timeout=3)
            return
        self.training_failed = False
        self.model_status = "in background"
        self._train(self.ensure_baseline, list(self.session_targets))

    def on_unmount(self) -> None:
        """Stop a training child still running: the analyst has left the app."""
        cancel = getattr(self.ensure_baseline, "cancel", None)
        if callable(cancel):
            cancel()

    def action_quit_session(self) -> None:
        """Close the batch and exit; with the database gone, exit at once (it resumes later)."""
        if self.closing:
            return
        if self.connection_lost or self.batch_id is None:
            self.app.exit(self.summary(self.progress, closed=False))
            return
        if self.busy:
            self.quit_requested = True
            return
        self.closing = True
        self.busy = True
        self._close()
