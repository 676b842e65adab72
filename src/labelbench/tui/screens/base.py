"""What every working screen shares: service calls with retry, one place that reports failures.

Workers call :meth:`ServiceScreen.call_service` from their thread. A
:class:`~labelbench.errors.DatabaseError` (lost connection, server restart, locked SQLite) never
reaches the analyst as a traceback: the call is retried with backoff while a banner says what is
happening, because the analyst's confirmed labels are already committed and the only sane thing to
do is wait for the database to come back. Any other failure ends the worker, and the single
``on_worker_state_changed`` handler turns it into a notification.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from labelbench.errors import DatabaseError, LabelbenchError
from labelbench.tui.messages import ConnectionLost, ConnectionRestored

T = TypeVar("T")

#: Seconds between retries after a database error; the last value repeats.
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


class ServiceScreen(Screen[None]):
    """A screen whose thread workers call services and post typed messages back."""

    def __init__(self, *, retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS) -> None:
        super().__init__()
        self.retry_delays: tuple[float, ...] = tuple(retry_delays) or (0.0,)

    def call_service(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (in a worker thread), retrying database errors until it succeeds.

        Stops retrying when the worker is cancelled (app exit), re-raising the last error.
        """
        worker = get_current_worker()
        attempt = 0
        while True:
            try:
                result = fn()
            except DatabaseError as exc:
                delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
                attempt += 1
                self.post_message(ConnectionLost(attempt, delay, str(exc)))
                if worker.cancelled_event.wait(delay) or worker.is_cancelled:
                    raise
                continue
            if attempt:
                self.post_message(ConnectionRestored())
            return result

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker failures become notifications (never a traceback)."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, LabelbenchError):
                message = str(error)
            else:
                message = f"unexpected {type(error).__name__}: {error}"
            self.notify(
                message, title=self.failure_title(event.worker), severity="error", timeout=10
            )
            self.worker_ended(event.worker, failed=True)
        elif event.state == WorkerState.CANCELLED:
            self.worker_ended(event.worker, failed=True)

    def failure_title(self, worker: Worker[object]) -> str:
        return "Error"

    def worker_ended(self, worker: Worker[object], *, failed: bool) -> None:
        """Hook: reset state that a failed or cancelled worker left behind."""
