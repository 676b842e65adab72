"""Modal dialogs: help, note + citation URL, country filter. Escape always cancels."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from labelbench.tui.keys import KeyAction, effective_keys


class HelpScreen(ModalScreen[None]):
    """Keys as configured (``settings.keys`` applied), so remapped keys are never a guess."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "close", id="help.close"),
        Binding("question_mark", "close", "close", show=False, id="help.close2"),
        Binding("q", "close", "close", show=False, id="help.close3"),
    ]

    def __init__(self, actions: tuple[KeyAction, ...], configured: dict[str, str]) -> None:
        super().__init__()
        self._rows = effective_keys(actions, configured)

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2))
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("action")
        for key, text in self._rows:
            table.add_row(key, text)
        with Vertical(id="help-box", classes="dialog"):
            yield Label("Keys", classes="dialog-title")
            yield Static(table, id="help-keys")
            yield Label(
                'Remap in labelbench.toml, e.g. [keys] positive = "1".  Esc closes.',
                classes="dialog-hint",
                markup=False,
            )

    def action_close(self) -> None:
        self.dismiss(None)


class NoteDialog(ModalScreen[tuple[str, str] | None]):
    """Note and citation URL for the next decision on the shown item.

    Enter in the note moves to the URL; Enter in the URL saves. Escape cancels and keeps any
    earlier note.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="note.cancel")
    ]

    def __init__(self, note: str = "", url: str = "") -> None:
        super().__init__()
        self._note, self._url = note, url

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box", classes="dialog"):
            yield Label("Note for the next decision", classes="dialog-title")
            yield Input(
                self._note,
                placeholder="why (e.g. matches OONI DNS blocking report)",
                id="note-text",
            )
            yield Input(self._url, placeholder="citation URL (optional)", id="note-url")
            yield Label("Enter: next field / save   Esc: cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "note-text":
            self.query_one("#note-url", Input).focus()
            return
        note = self.query_one("#note-text", Input).value.strip()
        url = self.query_one("#note-url", Input).value.strip()
        self.dismiss((note, url) if note or url else None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CountryFilterDialog(ModalScreen[list[str] | None]):
    """Comma-separated country codes to serve; empty means every target of the session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="filter.cancel")
    ]

    def __init__(self, current: list[str], targets: list[str]) -> None:
        super().__init__()
        self._current, self._targets = current, targets

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-box", classes="dialog"):
            yield Label("Serve only these countries", classes="dialog-title")
            yield Input(",".join(self._current), placeholder="OM,LY,YE", id="filter-input")
            yield Label(
                f"session targets: {', '.join(self._targets) or 'automatic'}\n"
                "Empty: all targets.  Enter: apply   Esc: cancel",
                classes="dialog-hint",
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        codes = [c.strip().upper() for c in event.value.replace(" ", ",").split(",")]
        self.dismiss([c for c in codes if c])

    def action_cancel(self) -> None:
        self.dismiss(None)
