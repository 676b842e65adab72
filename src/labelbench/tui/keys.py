"""The app's actions and their default keys, remappable through ``settings.keys``.

Every binding carries an id equal to its action id, so the user's ``[keys]`` table in
``labelbench.toml`` (action id -> key) becomes a Textual keymap without further translation. The
help screen reads the same table, so it always shows the keys as configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType
from textual.keys import format_key

from labelbench.errors import ConfigError


@dataclass(frozen=True)
class KeyAction:
    """One remappable action of the labelling app."""

    id: str
    """Binding id and the name used in ``settings.keys``."""
    key: str
    """Default key (Textual key name)."""
    action: str
    """Textual action string run by the binding."""
    description: str
    """Short footer text."""
    help: str
    """Longer text for the help screen."""
    show: bool = True


LABEL_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("positive", "y", "decide('positive')", "censorship", "Censorship event (positive)"),
    KeyAction("negative", "n", "decide('negative')", "not cens.", "Not censorship (negative)"),
    KeyAction("unsure", "u", "decide('unsure')", "unsure", "Unsure (kept out of training)"),
    KeyAction("skip", "s", "decide('skip')", "skip", "Skip this item (logged, not trained on)"),
    KeyAction("undo", "z", "undo", "undo", "Undo your last decision of this session"),
    KeyAction("note", "e", "note", "note", "Attach a note and citation URL to the next decision"),
    KeyAction("previous", "left", "previous", "prev", "Previous item decided in this session"),
    KeyAction("next", "right", "next", "next", "Next item (back toward the newest)"),
    KeyAction("filter", "slash", "filter", "filter", "Restrict the queue to some countries"),
    KeyAction("train", "t", "train", "retrain", "Retry training the model after a failure", False),
    KeyAction("help", "question_mark", "help", "help", "Show this help"),
    KeyAction("quit", "q", "quit_session", "quit", "Close the batch, show the summary and quit"),
)

REVIEW_ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("positive", "y", "adjudicate('positive')", "censorship", "Final verdict: censorship"),
    KeyAction("negative", "n", "adjudicate('negative')", "not cens.", "Final verdict: not cens."),
    KeyAction("unsure", "u", "adjudicate('unsure')", "unsure", "Final verdict: unsure"),
    KeyAction("note", "e", "note", "note", "Attach a note to the next verdict"),
    KeyAction("help", "question_mark", "help", "help", "Show this help"),
    KeyAction("quit", "q", "quit_review", "quit", "Quit"),
)

KNOWN_IDS: frozenset[str] = frozenset(a.id for a in (*LABEL_ACTIONS, *REVIEW_ACTIONS))


def bindings(actions: tuple[KeyAction, ...]) -> list[BindingType]:
    """Screen bindings for ``actions``.

    Priority bindings, because the evidence table (when focused) would otherwise swallow
    left/right; they live on the screen, so modal dialogs (text inputs) are not affected.
    """
    return [
        Binding(a.key, a.action, a.description, show=a.show, priority=True, id=a.id)
        for a in actions
    ]


def keymap(configured: dict[str, str]) -> dict[str, str]:
    """Validate ``settings.keys`` and return it as a Textual keymap (binding id -> keys)."""
    unknown = sorted(set(configured) - KNOWN_IDS)
    if unknown:
        raise ConfigError(
            f"unknown key action(s) in settings.keys: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(KNOWN_IDS))}"
        )
    empty = sorted(k for k, v in configured.items() if not v.strip())
    if empty:
        raise ConfigError(f"empty key for action(s) in settings.keys: {', '.join(empty)}")
    return {k: v.strip() for k, v in configured.items()}


def effective_keys(
    actions: tuple[KeyAction, ...], configured: dict[str, str]
) -> list[tuple[str, str]]:
    """(keys as configured and displayed, help text) rows for the help screen."""
    rows = []
    for a in actions:
        keys = configured.get(a.id, a.key).split(",")
        rows.append((" / ".join(format_key(k.strip()) for k in keys), a.help))
    return rows


def key_label(action_id: str, configured: dict[str, str]) -> str:
    """The key of one label-app action as the user configured it, for text in the app."""
    default = next(a.key for a in LABEL_ACTIONS if a.id == action_id)
    first = configured.get(action_id, default).split(",")[0].strip()
    return format_key(first)
