"""The labelling app and the factory the CLI and the tests share.

``create_app`` wires settings, the workspace and (for tests) replacement parts into a
:class:`LabelApp`; the app only picks the first screen and applies the user's key map. The app's
exit result is a :class:`~labelbench.tui.summary.SessionSummary` the CLI prints after the
terminal is handed back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from textual.app import App
from textual.screen import Screen

from labelbench.services.labelling import LabellingService
from labelbench.services.training_job import BaselineTrainer
from labelbench.services.workspace import Workspace
from labelbench.tui.keys import keymap
from labelbench.tui.screens.base import DEFAULT_RETRY_DELAYS
from labelbench.tui.screens.label import EnsureBaseline, LabelScreen
from labelbench.tui.screens.review import ReviewScreen
from labelbench.tui.summary import SessionSummary

Mode = Literal["label", "review"]


class LabelApp(App[SessionSummary | None]):
    """``labelbench label`` and ``labelbench review``: one app, two first screens."""

    CSS_PATH = "labelbench.tcss"
    TITLE = "labelbench"
    ENABLE_COMMAND_PALETTE = False
    """Ctrl+P would offer actions that bypass the session's guards; keys are the interface."""

    def __init__(self, first_screen: Screen[None], keys: dict[str, str]) -> None:
        super().__init__()
        self._first = first_screen
        self._keys = keys

    def get_default_screen(self) -> Screen[None]:
        return self._first

    def on_mount(self) -> None:
        self.set_keymap(self._keys)


def create_app(
    ws: Workspace,
    *,
    analyst: str,
    mode: Mode = "label",
    countries: Sequence[str] | None = None,
    strategy: str | None = None,
    batch_size: int | None = None,
    train_baseline: bool = True,
    ensure_baseline: EnsureBaseline | None = None,
    service: LabellingService | None = None,
    retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
) -> LabelApp:
    """Build the app for ``mode``; raises ConfigError for a bad ``settings.keys``.

    ``analyst`` is the lead's name in review mode. ``ensure_baseline`` replaces the real trainer
    (tests); ``train_baseline=False`` never trains. ``service`` replaces the labelling service
    (tests inject failures through it).
    """
    keys = keymap(ws.settings.keys)
    codes = [c.strip().upper() for c in countries if c.strip()] if countries else None
    first: Screen[None]
    if mode == "review":
        first = ReviewScreen(
            ws=ws, lead=analyst, countries=codes, keys=keys, retry_delays=retry_delays
        )
    else:
        svc = service or LabellingService(
            ws, analyst, countries=codes, strategy=strategy, batch_size=batch_size
        )
        trainer = (ensure_baseline or BaselineTrainer(analyst)) if train_baseline else None
        first = LabelScreen(
            ws=ws, service=svc, keys=keys, ensure_baseline=trainer, retry_delays=retry_delays
        )
    return LabelApp(first, keys)
