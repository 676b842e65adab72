"""Every message the app's workers post (typed results; the UI reacts to them on its thread).

Workers only compute and post one of these; handlers on the screens update widgets. Keeping them
in one module makes the flow of a session readable in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from labelbench.services.labelling import Disagreement, Progress, SampleView, StartInfo


class WorkerMessage(Message, bubble=False):
    """Posted by a worker to the screen that owns it; screens handle their own, so no bubbling."""


@dataclass
class SessionStarted(WorkerMessage):
    """The batch was opened or resumed."""

    info: StartInfo


@dataclass
class ItemShown(WorkerMessage):
    """An item to display; ``view`` None means the queue is empty."""

    view: SampleView | None
    live: bool
    """True for the item being served (claimed); False for one decided earlier in the session."""
    cursor: int | None = None
    """Position in the session history when ``live`` is False."""


@dataclass
class Decided(WorkerMessage):
    """A decision was committed."""

    sample_id: int
    verdict: str
    label_id: int
    country: str
    day: str
    revision: bool
    """True when an item decided earlier in this session was decided again."""


@dataclass
class Undone(WorkerMessage):
    """The last decision was retracted (``sample_id`` None: nothing to undo)."""

    sample_id: int | None


@dataclass
class ProgressUpdated(WorkerMessage):
    progress: Progress


@dataclass
class ConnectionLost(WorkerMessage):
    """A service call failed with a database error; the worker retries after ``delay``."""

    attempt: int
    delay: float
    error: str


@dataclass
class ConnectionRestored(WorkerMessage):
    """A call succeeded after connection errors."""


@dataclass
class ClaimLost(WorkerMessage):
    """The lease on the shown item expired or another analyst took it."""

    item_id: int | None
    message: str


@dataclass
class TrainingProgress(WorkerMessage):
    """Progress of the baseline model being trained in the background."""

    done: int
    total: int
    message: str


@dataclass
class TrainingFinished(WorkerMessage):
    """The baseline training ended; ``run_id`` None when no model could be trained."""

    run_id: str | None
    queued: int


@dataclass
class FilterApplied(WorkerMessage):
    """The served countries changed."""

    countries: list[str]
    filtered: bool


@dataclass
class SessionClosed(WorkerMessage):
    """The batch was closed; the app exits with the summary."""

    progress: Progress | None


@dataclass
class DisagreementsLoaded(WorkerMessage):
    rows: list[Disagreement]


@dataclass
class ReviewDetail(WorkerMessage):
    view: SampleView


@dataclass
class Adjudicated(WorkerMessage):
    sample_id: int
    verdict: str
    label_id: int
