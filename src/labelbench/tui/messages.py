"""Every message the app's workers post (typed results; the UI reacts to them on its thread).

Workers only compute and post one of these; handlers on the screens update widgets. Keeping them
in one module makes the flow of a session readable in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from labelbench.services.item_view import SampleView
from labelbench.services.labelling import Progress, StartInfo
from labelbench.services.review import Disagreement


class WorkerMessage(Message, bubble=False):
    """Posted by a worker to the screen that owns it; the screen handles it, so none bubbles.

    (Textual resets ``bubble`` per subclass, hence ``bubble=False`` on every class below.)
    """


@dataclass
class SessionStarted(WorkerMessage, bubble=False):
    """The batch was opened or resumed."""

    info: StartInfo


@dataclass
class ItemShown(WorkerMessage, bubble=False):
    """An item to display; ``view`` None means the queue is empty."""

    view: SampleView | None
    live: bool
    """True for the item being served (claimed); False for one decided earlier in the session."""
    cursor: int | None = None
    """Position in the session history when ``live`` is False."""


@dataclass
class Decided(WorkerMessage, bubble=False):
    """A decision was committed."""

    sample_id: int
    verdict: str
    label_id: int
    country: str
    day: str
    revision: bool
    """True when an item decided earlier in this session was decided again."""


@dataclass
class Undone(WorkerMessage, bubble=False):
    """The last decision was retracted (``sample_id`` None: nothing to undo)."""

    sample_id: int | None


@dataclass
class ProgressUpdated(WorkerMessage, bubble=False):
    progress: Progress


@dataclass
class ConnectionLost(WorkerMessage, bubble=False):
    """A service call failed with a database error; the worker retries after ``delay``."""

    attempt: int
    delay: float
    error: str


@dataclass
class ConnectionRestored(WorkerMessage, bubble=False):
    """A call succeeded after connection errors."""


@dataclass
class ClaimLost(WorkerMessage, bubble=False):
    """The lease on the shown item expired or another analyst took it."""

    item_id: int | None
    message: str


@dataclass
class TrainingProgress(WorkerMessage, bubble=False):
    """Progress of the baseline model being trained in the background."""

    done: int
    total: int
    message: str


@dataclass
class TrainingFinished(WorkerMessage, bubble=False):
    """The baseline training ended; ``run_id`` None when no model could be trained."""

    run_id: str | None
    queued: int


@dataclass
class FilterApplied(WorkerMessage, bubble=False):
    """The served countries changed."""

    countries: list[str]
    filtered: bool


@dataclass
class SessionClosed(WorkerMessage, bubble=False):
    """The batch was closed; the app exits with the summary."""

    progress: Progress | None


@dataclass
class DisagreementsLoaded(WorkerMessage, bubble=False):
    rows: list[Disagreement]


@dataclass
class ReviewDetail(WorkerMessage, bubble=False):
    view: SampleView


@dataclass
class Adjudicated(WorkerMessage, bubble=False):
    sample_id: int
    verdict: str
    label_id: int
